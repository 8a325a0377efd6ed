"""``dtsdk identities list|show|rm|export|import|push``: the identity store
(:mod:`dtsdk.identities.store`, :mod:`dtsdk.identities.sharing`), thin over its functions."""
from __future__ import annotations

import logging

log = logging.getLogger("dtsdk.identities")


def add(subparsers) -> None:
    p = subparsers.add_parser("identities", help="list, show, remove, export, import or push enrolled identities")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the enrolled identities in $DTSDK_HOME/identities").set_defaults(func=run_list)
    show = actions.add_parser("show", help="an identity's config.json")
    show.add_argument("name", help="a store name or an identity folder")
    show.set_defaults(func=run_show)
    rm = actions.add_parser("rm", help="remove an identity from the store")
    rm.add_argument("name")
    rm.set_defaults(func=run_rm)
    export = actions.add_parser("export", help="write an identity to a folder in the Hub layout")
    export.add_argument("name")
    export.add_argument("destination", help="folder to write (config.json, identity.safetensors, README.md)")
    export.add_argument("--force", action="store_true", help="replace a non-empty destination")
    export.set_defaults(func=run_export)
    imp = actions.add_parser("import", help="copy an identity into the store from a folder or a Hub repo id")
    imp.add_argument("source", help="an identity folder, or owner/name of a Hub repo (the local Hub cache unless "
                                    "HF_HUB_OFFLINE=0)")
    imp.add_argument("--name", help="store it under this name (default: its own)")
    imp.add_argument("--revision", help="Hub revision")
    imp.add_argument("--force", action="store_true", help="replace an identity of the same name")
    imp.set_defaults(func=run_import)
    push = actions.add_parser("push", help="upload an identity to a Hub repo (needs the network and a token)")
    push.add_argument("name")
    push.add_argument("repo_id", help="owner/name")
    push.add_argument("--public", action="store_true", help="create the repo public (default private)")
    push.set_defaults(func=run_push)


def run_list(args):
    from dtsdk.identities.store import list_identities, store_root

    rows = [{"name": i.name, "created": i.config.get("created"), "model": i.config.get("model"),
             "model_fingerprint": i.model_fingerprint[:19], "mode": i.config.get("source", {}).get("mode"),
             "seconds": i.config.get("source", {}).get("seconds")} for i in list_identities()]
    if not args.json:
        lines = [f"{r['name']}\t{r['mode']}\t{r['seconds']} s\t{r['model_fingerprint']}\t{r['created']}" for r in rows]
        print("\n".join(lines) if lines else f"no enrolled identities in {store_root()}")
    return rows


def run_show(args):
    import json

    from dtsdk.identities.store import load_identity

    identity = load_identity(args.name)
    result = {"path": str(identity.path), **identity.config}
    if not args.json:
        print(json.dumps(result, indent=2))
    return result


def run_rm(args):
    from dtsdk.identities.store import remove_identity

    log.info("removed %s", remove_identity(args.name))
    return {"removed": args.name}


def run_export(args):
    from dtsdk.identities.sharing import export_identity

    path = export_identity(args.name, args.destination, force=args.force)
    log.info("exported %s to %s", args.name, path)
    return {"exported": args.name, "path": str(path)}


def run_import(args):
    from dtsdk.identities.sharing import import_identity

    path = import_identity(args.source, name=args.name, force=args.force, revision=args.revision)
    log.info("imported %s as %s", args.source, path)
    return {"imported": str(args.source), "path": str(path)}


def run_push(args):
    from dtsdk.identities.sharing import push_identity

    repo = push_identity(args.name, args.repo_id, private=not args.public)
    log.info("pushed %s to %s", args.name, repo)
    return {"pushed": args.name, "repo_id": repo}
