"""Docker and Compose for the Docker tests: every call bounded in time, every resource labelled.

Everything a test creates carries the label `org.strata.test=<run id>` (containers, networks,
volumes) or belongs to a Compose project named after the run, so `cleanup` (and run.sh's trap)
can remove all of it and nothing else.
"""

import json
import os
import shutil
import subprocess
import time

LABEL = "org.strata.test"
RUN_ID = os.environ.get("STRATA_TEST_RUN", f"strata-test-{os.getpid()}")
IMAGE = os.environ.get("STRATA_IMAGE", "strata:latest")
HERE = os.path.dirname(os.path.abspath(__file__))
COMPOSE_FILE = os.path.join(os.path.dirname(HERE), "compose.yml")


class DockerError(RuntimeError):
    pass


def run(args, timeout=60, check=True, env=None):
    """Runs a command; raises DockerError with its output if it fails (when `check`) or hangs."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise DockerError(f"{' '.join(args)}: no answer within {timeout} s") from e
    if check and done.returncode != 0:
        raise DockerError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def docker(*args, timeout=60, check=True):
    return run(["docker", *args], timeout=timeout, check=check).stdout.strip()


def compose_command():
    """$STRATA_COMPOSE when set (`docker compose` or `docker-compose`), else `docker compose`
    (v2) when the CLI has it, else `docker-compose` (v1, Debian's 1.29)."""
    if os.environ.get("STRATA_COMPOSE"):
        return os.environ["STRATA_COMPOSE"].split()
    if run(["docker", "compose", "version"], timeout=20, check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise DockerError("neither `docker compose` nor `docker-compose` is installed")


class Compose:
    """One Compose project of docker/compose.yml, named after the test run."""

    def __init__(self, host_cql_port, command=None):
        self.project = RUN_ID.replace("_", "-")
        self.command = command or compose_command()
        self.env = dict(os.environ, STRATA_CQL_PORT=str(host_cql_port), STRATA_IMAGE=IMAGE)

    def __call__(self, *args, timeout=300, check=True):
        argv = [*self.command, "-f", COMPOSE_FILE, "-p", self.project, *args]
        return run(argv, timeout=timeout, check=check, env=self.env).stdout

    def container(self, service):
        return self("ps", "-q", service, timeout=30).strip()


def inspect(container):
    return json.loads(docker("inspect", container, timeout=30))[0]


def health(container):
    """Docker's health status (starting, healthy, unhealthy), or the state if not running."""
    state = inspect(container)["State"]
    if state["Status"] != "running":
        return state["Status"]
    return state.get("Health", {}).get("Status", "none")


def wait_healthy(container, timeout=120):
    """Waits until Docker reports the container healthy; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        status = health(container)
        if status == "healthy":
            return time.monotonic() - started
        if status in ("exited", "dead"):
            raise DockerError(f"{container} {status}:\n{logs(container)}")
        time.sleep(0.5)
    log = inspect(container)["State"].get("Health", {}).get("Log", [])[-1:]
    raise DockerError(f"{container} not healthy after {timeout} s (last check: {log})\n{logs(container)}")


def logs(container, tail=30):
    done = run(["docker", "logs", "--tail", str(tail), container], timeout=30, check=False)
    return (done.stdout + done.stderr).strip()


def exec_(container, *argv, timeout=60, check=True):
    return docker("exec", container, *argv, timeout=timeout, check=check)


def cleanup(compose=None):
    """Removes every container, network and volume of this run; never raises."""
    if compose is not None:
        compose("down", "-v", "--remove-orphans", "-t", "5", timeout=120, check=False)
    label = f"label={LABEL}={RUN_ID}"
    for kind, listing, removal in (
        ("containers", ["ps", "-aq"], ["rm", "-f", "-v"]),
        ("networks", ["network", "ls", "-q"], ["network", "rm"]),
        ("volumes", ["volume", "ls", "-q"], ["volume", "rm", "-f"]),
    ):
        ids = docker(*listing, "--filter", label, check=False).split()
        if ids:
            docker(*removal, *ids, check=False, timeout=120)
            print(f"cleanup: removed {len(ids)} {kind}")
