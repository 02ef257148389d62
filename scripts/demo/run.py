"""The demo after the build (scripts/demo.sh calls it): the images, the registry with a real password, the
agent, the broker server and client, then the outside service's calls and the summary. Every process it
starts is stopped at the end, on an error and on Ctrl-C, and checked gone.

    run.py BIN_DIR        (BIN_DIR holds cr-agent and broker)

Environment: DEMO_STATE_DIR (default .build-demo), DEMO_IMAGE_CACHE (default <state>/images),
DEMO_REPORTS_DIR (default <state>/reports), DEMO_SCAN_TIMEOUT (seconds, default 900), DEMO_KEEP_RUNNING=1
(after the summary, keep every part running until Ctrl-C). <state>/pids.json lists every pid started."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

from parts import DemoError, Parts, free_port, http_status

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


def progress(msg: str) -> None:
    print(f"demo: {msg}", file=sys.stderr, flush=True)


def run(bin_dir: Path, state: Path, parts: Parts) -> int:
    import images
    import outside
    cache = Path(os.environ.get("DEMO_IMAGE_CACHE") or state / "images")
    reports = Path(os.environ.get("DEMO_REPORTS_DIR") or state / "reports")
    logs = state / "logs"
    for exe in ("cr-agent", "broker"):
        if not os.access(bin_dir / exe, os.X_OK):
            raise DemoError(f"{bin_dir / exe} is missing: scripts/build-release.sh builds it")
    reports.mkdir(parents=True, exist_ok=True)
    for old in [*reports.glob("demo_*.json"), reports / "summary.json"]:   # only what an earlier run wrote
        old.unlink(missing_ok=True)
    shutil.rmtree(logs, ignore_errors=True)

    progress(f"images (cache: {cache})")
    t0 = time.monotonic()
    built = images.build(cache, progress)
    progress(f"images ready in {time.monotonic() - t0:.1f} s: " + ", ".join(f"{i['repository']}:{i['tag']}" for i in built))

    # The registry's user and password are made up by the harness and reach the demo on a pipe: never on a
    # command line, never in a log.
    reg = parts.start("registry", [PY, str(REPO / "Tests/registry/fixture.py"), "start", "--auth", "htpasswd",
                                   "--dir", str(state / "registry"), "--max-lifetime", "7200"],
                      dict(os.environ), logs / "registry.log", stdout_to_us=True)
    info = json.loads(reg.first_line(30, "serving"))
    parts.watch(int(info["registry_pid"]))
    username, password = info["username"], info["password"]
    progress(f"registry (docker-registry, htpasswd) on {info['url']}; pushing")
    images.push(built, info["url"], username, password)

    upstream = outside.Upstream()
    parts.on_stop.append(upstream.stop)
    progress(f"outside service's receiver (BROKER_UPSTREAM_URL) on {upstream.url}")

    # A layer cache of its own, emptied each run, so the times shown are of real scans.
    shutil.rmtree(state / "scan-cache", ignore_errors=True)
    base_env = {"PATH": "/usr/bin:/bin", "HOME": str(state), "LOG_LEVEL": "info"}
    agent_port, server_port, client_port = free_port(), free_port(), free_port()
    agent = parts.start("cr-agent serve", [str(bin_dir / "cr-agent"), "serve"],
                        dict(base_env, SNYK_PORT=str(agent_port), SCAN_CACHE_DIR=str(state / "scan-cache")), logs / "cr-agent.log")
    agent.wait_until(lambda: http_status(f"http://127.0.0.1:{agent_port}/healthcheck") == 200, 30, "answering /healthcheck")
    progress(f"cr-agent serve on 127.0.0.1:{agent_port}")

    token = str(uuid.uuid4())
    server = parts.start("broker server", [str(bin_dir / "broker"), "server"],
                         dict(base_env, PORT=str(server_port), BROKER_TOKENS=token, BROKER_UPSTREAM_URL=upstream.url),
                         logs / "broker-server.log")
    server.wait_until(lambda: http_status(f"http://127.0.0.1:{server_port}/healthcheck") != 0, 30, "answering /healthcheck")
    progress(f"broker server on 127.0.0.1:{server_port}")

    client = parts.start("broker client", [str(bin_dir / "broker"), "client"],
                         dict(base_env, PORT=str(client_port), BROKER_TOKEN=token,
                              BROKER_SERVER_URL=f"http://127.0.0.1:{server_port}",
                              BROKER_CLIENT_URL=f"http://127.0.0.1:{client_port}",
                              CR_AGENT_URL=f"http://127.0.0.1:{agent_port}", CR_TYPE="harbor-cr", CR_BASE=info["url"],
                              CR_USERNAME=username, CR_PASSWORD=password), logs / "broker-client.log")
    via = f"http://127.0.0.1:{server_port}/broker/{token}"
    client.wait_until(lambda: http_status(f"{via}/healthcheck") == 200, 30,
                      "connecting to the broker server (the agent's /healthcheck through the tunnel)")
    progress(f"broker client on 127.0.0.1:{client_port}, connected to the server")

    broker = outside.Broker(f"http://127.0.0.1:{server_port}", token)
    refs = broker.images()
    progress(f"listed through /broker/<token>/list: {', '.join(refs)}")
    outcome = outside.scan_all(broker, upstream, refs, reports, progress,
                               float(os.environ.get("DEMO_SCAN_TIMEOUT") or 900))
    # The scan times come from the agent's operator endpoint (not in the broker's filter: the outside
    # service never sees it; the demo runs the agent, so it may ask).
    _, operation = outside.get_json(f"http://127.0.0.1:{agent_port}/operations/{outcome['operation']}")
    outside.add_durations(outcome["rows"], operation if isinstance(operation, dict) else {})
    (reports / "summary.json").write_text(json.dumps(
        dict(outcome, registry=info["url"], images={f"{i['repository']}:{i['tag']}": {"oci_dir": i["oci_dir"]}
                                                    for i in built}), indent=1) + "\n")
    print(outside.summary_text(outcome, info["url"], reports), flush=True)
    if os.environ.get("DEMO_KEEP_RUNNING") == "1":
        print(f"demo: everything keeps running until Ctrl-C; try the outside service's calls yourself:\n"
              f"  curl {via}/list\n"
              f"  curl -X POST -H 'content-type: application/json' -d '{{\"images\":[\"{refs[0]}\"]}}' {via}/scan\n"
              f"  (results go to the receiver; the agent logs in {logs})", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    return 0 if outcome["done"].get("failed") == 0 else 1


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    state = Path(os.environ.get("DEMO_STATE_DIR") or REPO / ".build-demo").resolve()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(143)))
    parts = Parts(state / "pids.json")
    status = 1
    try:
        status = run(Path(sys.argv[1]).resolve(), state, parts)
    except DemoError as e:
        print(f"demo: {e}", file=sys.stderr)
    except RuntimeError as e:   # the image builders' and the registry harness's errors: one line each
        print(f"demo: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        status = 130
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not cut the stopping short
        left = parts.stop_all()
        if left:
            print(f"demo: processes still running after the stop: {left}", file=sys.stderr)
            status = status or 1
        elif parts.parts:
            print(f"demo: stopped {len(parts.parts)} parts; none of their processes is left", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
