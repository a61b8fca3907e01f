"""Commands on a register file: ``registre``, ``import``, ``apparier``, ``listes``,
``demande``, ``medecin``: the parser of each command. The handlers are in modules by topic:
:mod:`~mt_access.cli.registry_file`, :mod:`~mt_access.cli.match_command`,
:mod:`~mt_access.cli.pull_commands`, :mod:`~mt_access.cli.request_commands`,
:mod:`~mt_access.cli.gp_commands`, with what they share in :mod:`~mt_access.cli.registry_base`."""

from __future__ import annotations

import argparse
from typing import Any

from mt_access.cli import portal_commands
from mt_access.cli.common import (
    add_date,
    add_register,
    parse_date,
    parse_month,
    whole_int,
)
from mt_access.cli.gp_commands import (
    cmd_gp_add,
    cmd_gp_answer,
    cmd_gp_capacity,
    cmd_gp_contact,
    cmd_gp_join,
    cmd_gp_list,
    gp_status,
)
from mt_access.cli.gp_import_command import add_gp_import
from mt_access.cli.match_command import cmd_match, month_capacity
from mt_access.cli.pull_commands import cmd_choose, cmd_lists
from mt_access.cli.qualify_command import add_qualify_arguments, cmd_request_qualify
from mt_access.cli.registry_base import (
    MODALITIES,
    STATES,
    Handler,
    event_command,
    french_dates,
    in_french,
    refusal_message,
)
from mt_access.cli.registry_file import (
    cmd_import,
    cmd_register_check,
    cmd_register_copy,
    cmd_register_create,
    cmd_register_grant,
    cmd_register_info,
)
from mt_access.cli.request_commands import (
    EXITS,
    LOCATE_REASONS,
    add_persons,
    close_request,
    cmd_request_erase,
    cmd_request_history,
    cmd_request_letter,
    cmd_request_list,
    cmd_request_locate,
    cmd_request_position,
    cmd_request_resource,
    confirm_request,
    locate_report,
    person_numbers,
    request_event_command,
)

__all__ = [
    "LOCATE_REASONS",
    "Handler",
    "add_commands",
    "event_command",
    "french_dates",
    "locate_report",
    "month_capacity",
    "person_numbers",
    "refusal_message",
]


# ------------------------------------------------------------------------------------------
# parser


def _per_year(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--par-an",
        dest="par_an",
        action="store_true",
        help="capacité par année civile (ex. 150 nouveaux patients par an) au lieu de par mois",
    )


def _comment(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "-c",
        "--commentaire",
        default="",
        required=required,
        help="commentaire gardé dans l'historique (pas de donnée médicale)",
    )


def _contact_options(parser: argparse.ArgumentParser) -> None:
    """The options of a GP's practice contact (``""`` clears a field)."""
    for option, metavar, text in (
        ("--telephone", "NUMÉRO", "téléphone du cabinet (ex. 04 76 12 34 56 ou +33 4 76 12 34 56)"),
        ("--mssante", "ADRESSE", "adresse MSSanté (ex. prenom.nom@medecin.mssante.fr)"),
        ("--adresse", "ADRESSE", "adresse postale du cabinet, sur une ligne"),
        ("--cabinet", "NOM", "nom du cabinet ou de la maison de santé"),
        ("--notes", "TEXTE", "informations pour les patients (ex. prise de rendez-vous en ligne)"),
    ):
        parser.add_argument(option, default=None, metavar=metavar, help=text + ' ; "" pour effacer')


def _sub(
    group: Any, name: str, aliases: list[str], summary: str, handler: Handler
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(
        name, aliases=aliases, help=summary, description=summary[0].upper() + summary[1:] + "."
    )
    add_register(parser)
    parser.set_defaults(func=in_french(handler))
    return parser


def add_commands(sub: Any) -> None:
    """Add the register commands to the ``mt-access`` sub-parsers."""
    # registre
    reg = sub.add_parser(
        "registre",
        aliases=["register"],
        help="créer un registre, le décrire, vérifier son intégrité, le copier",
        description="Le registre de la CPTS : un fichier SQLite (ou une base PostgreSQL, "
        "postgresql://…) qui garde les demandes, les médecins, leurs capacités et chaque "
        "appariement.",
    )
    reg_sub = reg.add_subparsers(dest="action", metavar="action", required=True)
    create = reg_sub.add_parser(
        "creer",
        aliases=["create"],
        help="créer un registre vide pour une politique",
        description="Crée un registre vide et y enregistre la politique à utiliser.",
    )
    create.add_argument(
        "registre",
        metavar="FICHIER|URL",
        help="fichier à créer, ou base PostgreSQL (postgresql://…)",
    )
    create.add_argument("--politique", required=True, help="nom livré ou fichier YAML")
    create.set_defaults(func=cmd_register_create)
    _sub(reg_sub, "info", [], "compter les demandes par état, les médecins, les appariements",
         cmd_register_info)  # fmt: skip
    _sub(reg_sub, "verifier", ["check"], "vérifier l'intégrité du fichier du registre",
         cmd_register_check)  # fmt: skip
    copy = reg_sub.add_parser(
        "copier",
        aliases=["copy"],
        help="copier un registre (SQLite vers PostgreSQL et retour) et vérifier la copie",
        description="Copie tout le registre SOURCE dans DESTINATION (un nouveau fichier, ou une "
        "base PostgreSQL sans données pour cette CPTS), puis vérifie l'intégrité de la copie et "
        "compare ses listes à celles de la source.",
    )
    copy.add_argument("source", metavar="SOURCE", help="fichier ou URL postgresql:// à copier")
    copy.add_argument("destination", metavar="DESTINATION", help="nouveau fichier ou URL")
    copy.set_defaults(func=in_french(cmd_register_copy))
    grant = _sub(reg_sub, "rattacher", ["grant"],
                 "donner au rôle PostgreSQL d'un coordinateur le registre de la CPTS de l'URL, "
                 "et celui-là seulement (URL de l'administrateur)", cmd_register_grant)  # fmt: skip
    grant.add_argument("role", metavar="RÔLE", help="rôle PostgreSQL du coordinateur")

    # import
    imp = _sub(sub, "import", ["importer"], "importer l'export d'un formulaire de demandes",
               cmd_import)  # fmt: skip
    imp.add_argument("fichier", metavar="FICHIER", help="export CSV ou XLSX du formulaire")
    imp.add_argument(
        "--formulaire",
        default=None,
        metavar="MODÈLE|FICHIER.yaml",
        help="modèle de formulaire livré (voironnais, lievin, sud_est_grenoblois, generique) "
        "ou fichier de correspondance YAML (mt-access formulaire deduire) ; par défaut celui "
        "de la politique",
    )
    imp.add_argument("--feuille", default=None, help="feuille du classeur XLSX")
    imp.add_argument(
        "--rejets",
        default=None,
        metavar="FICHIER",
        help="rapport des lignes non importées (<fichier>.rejets.csv par défaut)",
    )
    imp.add_argument(
        "--date",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="date de réception des lignes qui n'en ont pas",
    )
    imp.add_argument("--sans-progression", action="store_true", help="pas de barre de progression")

    # apparier
    match = _sub(
        sub,
        "apparier",
        ["match"],
        "lancer l'appariement du mois : propositions aux médecins, orientations",
        cmd_match,
    )
    add_date(match, "date de l'appariement")
    match.add_argument(
        "--apercu", "--dry-run", action="store_true", help="montrer sans rien enregistrer"
    )
    match.add_argument(
        "--courriers",
        default=None,
        metavar="DOSSIER",
        help="écrire les dossiers pour les médecins et les courriers d'orientation",
    )
    match.add_argument(
        "--format-courriers",
        default="txt,md",
        metavar="FORMATS",
        help="formats des courriers de --courriers, séparés par des virgules, parmi txt, md, "
        "html, pdf (txt,md par défaut)",
    )

    # listes
    lists = _sub(
        sub,
        "listes",
        ["lists"],
        "listes partagées avec les médecins (routeur pull) : les afficher et les écrire, un "
        "fichier par médecin",
        cmd_lists,
    )
    when = lists.add_mutually_exclusive_group()
    when.add_argument(
        "--mois",
        type=parse_month,
        default=None,
        metavar="AAAA-MM",
        help="mois des listes (aujourd'hui s'il est en cours, sinon son dernier jour s'il est "
        "passé, son premier jour s'il est à venir)",
    )
    when.add_argument(
        "--date",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="jour des listes (aujourd'hui par défaut)",
    )
    lists.add_argument("--medecin", default=None, help="la liste d'un seul médecin")
    lists.add_argument(
        "--dossier",
        default=None,
        metavar="DOSSIER",
        help="écrire un fichier par médecin et par format dans ce dossier",
    )
    lists.add_argument(
        "--format",
        action="append",
        default=None,
        metavar="FORMATS",
        help="xlsx, html, md, séparés par des virgules (répétable ; tous par défaut)",
    )

    # demande
    req = sub.add_parser(
        "demande",
        aliases=["request"],
        help="suivre une demande : lister, accuser réception, confirmer, relancer, clôturer",
        description="Les événements de la vie d'une demande.",
    )
    req_sub = req.add_subparsers(dest="action", metavar="action", required=True)
    lst = _sub(req_sub, "liste", ["list"], "lister les demandes (en cours par défaut)",
               cmd_request_list)  # fmt: skip
    lst.add_argument(
        "--etat", action="append", choices=sorted(STATES), help="état (répétable)", default=[]
    )
    for name, aliases, summary, action in (
        ("accuser", ["acknowledge"], "l'accusé de réception a été envoyé",
         lambda r, a, d: r.acknowledge(a.demande, d, a.commentaire)),
        ("attente", ["wait"], "mettre une demande confirmée en liste d'attente",
         lambda r, a, d: r.to_waiting(a.demande, d, a.commentaire)),
    ):  # fmt: skip
        p = _sub(req_sub, name, aliases, summary, request_event_command(action))
        p.add_argument("demande", help="identifiant de la demande")
        add_date(p)
        _comment(p)
    conf = _sub(
        req_sub,
        "confirmer",
        ["confirm"],
        "le patient cherche toujours : confirmer et mettre en liste d'attente",
        request_event_command(confirm_request),
    )
    conf.add_argument("demande", help="identifiant de la demande")
    conf.add_argument(
        "--sans-attente", action="store_true", help="confirmer sans mettre en liste d'attente"
    )
    add_date(conf)
    _comment(conf)
    contact = _sub(
        req_sub,
        "contact",
        [],
        "noter une tentative de contact du patient",
        request_event_command(
            lambda r, a, d: r.record_contact(a.demande, d, a.resultat == "joint", a.commentaire)
        ),
    )
    contact.add_argument("demande", help="identifiant de la demande")
    contact.add_argument(
        "resultat",
        choices=["joint", "injoignable"],
        help="joint, ou injoignable (au bout du nombre de tentatives de la politique, la "
        "demande sort du dispositif)",
    )
    add_date(contact)
    _comment(contact)
    close = _sub(
        req_sub,
        "cloturer",
        ["close"],
        "faire sortir une demande du dispositif, avec son motif",
        request_event_command(close_request),
    )
    close.add_argument("demande", help="identifiant de la demande")
    close.add_argument("motif", choices=sorted(EXITS), help="motif de sortie")
    add_persons(close, "qui sortent")
    add_date(close)
    _comment(close)
    prop = _sub(
        req_sub,
        "proposer",
        ["propose"],
        "proposer une demande en attente à un médecin, à la main",
        request_event_command(
            lambda r, a, d: r.propose(a.demande, a.medecin, d, a.commentaire, persons=a.personnes)
        ),
    )
    prop.add_argument("demande", help="identifiant de la demande")
    prop.add_argument("medecin", help="identifiant du médecin")
    add_persons(prop, "proposées")
    add_date(prop)
    _comment(prop)
    cancel = _sub(
        req_sub,
        "annuler-proposition",
        ["cancel-proposal"],
        "annuler une proposition en cours sans bloquer le médecin (motif obligatoire) : les "
        "personnes proposées reviennent en liste d'attente, la place du médecin est libérée, "
        "la demande pourra lui être proposée de nouveau",
        request_event_command(
            lambda r, a, d: r.cancel_proposal(a.demande, a.medecin, d, a.commentaire)
        ),
    )
    cancel.add_argument("demande", help="identifiant de la demande")
    cancel.add_argument("medecin", help="identifiant du médecin de la proposition à annuler")
    add_date(cancel)
    _comment(cancel, required=True)
    choose = _sub(
        req_sub,
        "choisir",
        ["choose"],
        "un médecin choisit une demande sur sa liste partagée (par son pseudonyme) : elle lui "
        "est proposée et une place lui est réservée en attendant sa réponse",
        cmd_choose,
    )
    choose.add_argument("medecin", help="identifiant du médecin")
    choose.add_argument("pseudonyme", help="pseudonyme de la demande sur sa liste (P-...)")
    add_persons(choose, "que le médecin prend")
    add_date(choose, "date du choix")
    _comment(choose)
    answer = _sub(
        req_sub,
        "ressource",
        ["resource"],
        "enregistrer la réponse d'une ressource de la politique (ex. DAC) pour une demande : "
        "une demande en attente de cette réponse (mode before) entre dans son parcours vers "
        "un médecin au prochain appariement",
        cmd_request_resource,
    )
    answer.add_argument("demande", help="identifiant de la demande")
    answer.add_argument("ressource", help="nom de la ressource, tel qu'écrit dans la politique")
    answer.add_argument(
        "--reponse",
        required=True,
        metavar="TEXTE",
        help="la réponse de la ressource, gardée dans l'historique (pas de donnée médicale)",
    )
    add_date(answer)

    qualify = _sub(
        req_sub,
        "qualifier",
        ["qualify"],
        "modifier les réponses aux questions de la politique ou les critères d'une demande "
        "(motif obligatoire, gardé dans l'historique) ; le prochain appariement en tient compte",
        cmd_request_qualify,
    )
    add_qualify_arguments(qualify)
    add_date(qualify)
    erase = _sub(
        req_sub,
        "effacer",
        ["erase"],
        "effacer définitivement les données personnelles d'un patient à sa demande (RGPD) ; "
        "demande confirmation",
        cmd_request_erase,
    )
    erase.add_argument("demande", help="identifiant de la demande")
    erase.add_argument(
        "--oui",
        action="store_true",
        help="effacer sans poser la question (obligatoire hors d'un terminal, dans un script)",
    )
    add_date(erase, "date de l'effacement")
    loc = _sub(
        req_sub,
        "localiser",
        ["locate"],
        "localiser l'adresse des demandes en cours (Base Adresse Nationale), pour mesurer "
        "les distances depuis le domicile",
        cmd_request_locate,
    )
    loc.add_argument(
        "--cache",
        default=None,
        metavar="FICHIER",
        help="cache des réponses (<registre>.geocodage.sqlite par défaut ; "
        "mt-access.geocodage.sqlite dans le dossier courant pour une base PostgreSQL)",
    )
    loc.add_argument(
        "--ban", default=None, metavar="HÔTE", help="adresse du service BAN (le service public)"
    )
    loc.add_argument("--http", action="store_true", help="service BAN en http (serveur local)")
    loc.add_argument("--sans-progression", action="store_true", help="pas de barre de progression")
    hist = _sub(req_sub, "historique", ["history"], "montrer l'historique d'une demande",
                cmd_request_history)  # fmt: skip
    hist.add_argument("demande", help="identifiant de la demande")
    pos = _sub(
        req_sub,
        "position",
        [],
        "rang dans la liste d'attente et délai estimé (avec son incertitude)",
        cmd_request_position,
    )
    pos.add_argument("demande", help="identifiant de la demande")
    add_date(pos, "date de référence")
    letter = _sub(
        req_sub,
        "courrier",
        ["letter"],
        "écrire un courrier : accusé de réception, dossier pour un médecin, retour, "
        "orientation, ressources sollicitées",
        cmd_request_letter,
    )
    letter.add_argument("demande", help="identifiant de la demande")
    letter.add_argument(
        "type",
        choices=["accuse-patient", "accuse-adresseur", "dossier-medecin", "retour-adresseur",
                 "orientation", "ressources"],
        help="le courrier à écrire",
    )  # fmt: skip
    letter.add_argument("--medecin", default=None, help="pour le dossier : le médecin")
    letter.add_argument(
        "--dossier", default=None, metavar="DOSSIER", help="écrire dans ce dossier (sinon affiché)"
    )
    letter.add_argument(
        "--format",
        action="append",
        choices=["txt", "md", "html", "pdf"],
        default=None,
        help="txt, md, html ou pdf (répétable ; md par défaut ; html et pdf avec --dossier)",
    )
    letter.set_defaults(format=None)
    add_date(letter, "date du courrier")

    # medecin
    gp = sub.add_parser(
        "medecin",
        aliases=["gp"],
        help=(
            "les médecins volontaires : ajouter, importer, coordonnées, adhérer, capacité, "
            "suspendre, répondre"
        ),
        description="Les médecins volontaires du dispositif et leurs réponses.",
    )
    gp_sub = gp.add_subparsers(dest="action", metavar="action", required=True)
    lst = _sub(gp_sub, "liste", ["list"], "lister les médecins et leurs places du mois",
               cmd_gp_list)  # fmt: skip
    add_date(lst, "date de référence")
    add = _sub(gp_sub, "ajouter", ["add"], "ajouter un médecin (candidat) au registre", cmd_gp_add)
    add.add_argument("id", help="identifiant du médecin (ex. RPPS)")
    add.add_argument("--nom", required=True, help="nom affiché (ex. « Dr Martin »)")
    add.add_argument("--commune", required=True, help="commune d'exercice : code INSEE ou nom")
    add.add_argument("--rpps", default=None, help="numéro RPPS")
    _contact_options(add)
    contact = _sub(
        gp_sub,
        "coordonnees",
        ["contact"],
        "coordonnées du cabinet (téléphone, MSSanté, adresse, nom, informations pour les "
        "patients), données aux patients dans les courriers d'orientation ; sans option, les "
        "affiche",
        cmd_gp_contact,
    )
    contact.add_argument("id", help="identifiant du médecin")
    _contact_options(contact)
    contact.add_argument(
        "--effacer",
        action="store_true",
        help="effacer d'abord toutes les coordonnées (les options données sont ensuite gardées)",
    )
    join = _sub(gp_sub, "adherer", ["join"], "le médecin signe la charte et déclare sa capacité",
                cmd_gp_join)  # fmt: skip
    join.add_argument("id", help="identifiant du médecin")
    join.add_argument(
        "--capacite",
        type=whole_int,
        required=True,
        help="nouveaux patients par mois (0 ou plus ; par an avec --par-an)",
    )
    _per_year(join)
    join.add_argument(
        "--modalites",
        nargs="+",
        choices=sorted(MODALITIES),
        default=["cabinet"],
        help="cabinet et/ou domicile (cabinet par défaut)",
    )
    join.add_argument(
        "--communes",
        nargs="*",
        default=[],
        help="communes acceptées (codes INSEE ou noms ; par défaut selon la politique)",
    )
    add_date(join, "date d'adhésion")
    _comment(join)
    cap = _sub(gp_sub, "capacite", ["capacity"], "changer la capacité mensuelle ou annuelle",
               cmd_gp_capacity)  # fmt: skip
    cap.add_argument("id", help="identifiant du médecin")
    cap.add_argument(
        "capacite",
        type=whole_int,
        nargs="?",
        default=None,
        help="nouveaux patients par mois (par an avec --par-an) ; "
        "facultatif pour lever un plafond seulement",
    )
    _per_year(cap)
    cap.add_argument(
        "--sans-plafond-mensuel",
        dest="sans_plafond_mensuel",
        action="store_true",
        help="lever le plafond mensuel à partir du mois (une capacité annuelle doit être en "
        "vigueur ; avec --par-an : passer à une capacité par an seulement)",
    )
    cap.add_argument(
        "--sans-plafond-annuel",
        dest="sans_plafond_annuel",
        action="store_true",
        help="lever la capacité annuelle pour toute l'année civile du mois (avec une capacité "
        "par mois : revenir à une capacité par mois seulement)",
    )
    cap.add_argument(
        "--mois", type=parse_month, default=None, help="à partir du mois AAAA-MM (celui de --date)"
    )
    add_date(cap, "date de la déclaration")
    _comment(cap)
    susp = _sub(
        gp_sub,
        "suspendre",
        ["suspend"],
        "suspendre la participation",
        gp_status(lambda r, a, d: r.suspend(a.id, d, a.jusqu_au, a.commentaire), "suspendu"),
    )
    susp.add_argument("id", help="identifiant du médecin")
    susp.add_argument(
        "--jusqu-au",
        dest="jusqu_au",
        type=parse_date,
        default=None,
        metavar="JJ/MM/AAAA",
        help="dernier jour de la suspension (sans fin par défaut)",
    )
    add_date(susp, "premier jour de la suspension")
    _comment(susp)
    for name, aliases, summary, action, verb in (
        ("reprendre", ["resume"], "mettre fin à une suspension",
         lambda r, a, d: r.resume(a.id, d, a.commentaire), "reprend"),
        ("retirer", ["withdraw"], "le médecin quitte le dispositif",
         lambda r, a, d: r.withdraw_physician(a.id, d, a.commentaire), "quitte le dispositif"),
    ):  # fmt: skip
        p = _sub(gp_sub, name, aliases, summary, gp_status(action, verb))
        p.add_argument("id", help="identifiant du médecin")
        add_date(p)
        _comment(p)
    ans = _sub(
        gp_sub,
        "repondre",
        ["answer"],
        "réponse du médecin à une proposition : accepte ou refuse",
        cmd_gp_answer,
    )
    ans.add_argument("medecin", help="identifiant du médecin")
    ans.add_argument("demande", help="identifiant de la demande")
    ans.add_argument("reponse", choices=["accepte", "refuse"], help="accepte ou refuse")
    add_date(ans, "date de la réponse")
    _comment(ans)
    portal_commands.add_gp_link(gp_sub)
    add_gp_import(gp_sub)
