"""`mcs edge --site S --block B` (one block) or `mcs edge --all` (every registered block, one process)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal

import click

from mcs.runtime import UserError, check_database, database_url, mqtt_url
from mcs.settings import get_settings


def dump_tasks() -> None:
    """Log every asyncio task's stack (a stuck edge can be asked where it waits without stopping it)."""
    log = logging.getLogger("ingest_daemons.edge")
    for task in asyncio.all_tasks():
        buf = io.StringIO()
        task.print_stack(limit=6, file=buf)
        log.warning("task %s:\n%s", task.get_name(), buf.getvalue())


@click.command("edge")
@click.option("--site", "site_id", default=None, help="Site of the block to run.")
@click.option("--block", "block_id", default=None, help="Block to run (with --site).")
@click.option("--all", "all_blocks", is_flag=True, help="Run an edge for every registered block.")
@click.option("--mode-messages", type=click.Choice(["auto", "on", "off"]), default=None,
              help="Publish mode/state derived from PLC register 45403: auto (default) defers to another "
                   "publisher of the same transition (e.g. `mcs simulate`), on always, off never.")
def edge(site_id: str | None, block_id: str | None, all_blocks: bool, mode_messages: str | None) -> None:
    """Run edge pollers (Modbus/SNMP/BACnet) with their store-and-forward spool, heartbeat and commands."""
    from ingest_daemons.edge.config import EdgeSettings, load_block, registered_blocks
    from ingest_daemons.edge.runner import EdgeRunner
    from mcs.db.engine import make_engine

    if all_blocks == bool(site_id or block_id) or (not all_blocks and not (site_id and block_id)):
        raise click.UsageError("give either --site S --block B, or --all")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    db_url = database_url(settings)
    check_database(db_url)
    edge_settings = EdgeSettings()
    if mode_messages:
        edge_settings.mode_messages = mode_messages
    engine = make_engine(db_url)
    try:
        keys = registered_blocks(engine) if all_blocks else [(site_id, block_id)]
        if not keys:
            raise UserError("no blocks registered (run `mcs sites load` first)")
        try:
            configs = [load_block(engine, s, b) for s, b in keys]
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
    finally:
        engine.dispose()

    def reloader(s: str, b: str):
        def reload():
            eng = make_engine(db_url)
            try:
                return load_block(eng, s, b)
            finally:
                eng.dispose()
        return reload

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        def on_signal() -> None:
            if stop.is_set():       # a second signal: leave now; the spool keeps every unsent message
                logging.getLogger("ingest_daemons.edge").warning("second signal: exiting without draining")
                os._exit(1)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        loop.add_signal_handler(signal.SIGUSR1, dump_tasks)   # `kill -USR1 <pid>`: where is every task waiting
        runners = [EdgeRunner(c, mqtt_url(settings), settings.data_dir, edge_settings, database_url=db_url,
                              reload=reloader(c.site_id, c.block_id)) for c in configs]
        await asyncio.gather(*(r.run(stop) for r in runners))

    asyncio.run(main())
