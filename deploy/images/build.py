"""Build quantgate's images with buildah, without a Docker daemon or an image registry, and
check the gateway image by running it.

    python deploy/images/build.py [--targets gateway,llamacpp,vllm-cpu,prometheus] [--no-check]

1. Base: a Debian bookworm root filesystem from debootstrap (the mirror apt is configured
   with), cached as ~/.cache/quantgate/images/bookworm-minbase.tar, then
   deploy/images/Containerfile.base: `localhost/quantgate-debian:bookworm` and
   `localhost/quantgate-python:3.11-bookworm`.
2. The Dockerfile's targets on those bases (`--build-arg PYTHON=... DEBIAN=...`), tagged
   `localhost/quantgate:<target>`. The build containers see this machine's pip configuration
   (its indexes, find-links, constraints) and the llama-cpp-python wheel `make install` caches,
   read-only, so they install what the host would and llama.cpp is compiled at most once.
3. The check: a mock OpenAI upstream on this machine, the gateway image's own entrypoint run
   with `buildah run` (chroot isolation shares the host's network) on a profile that points at
   it, then `/health`, `/v1/models` and one chat completion through it; the other images are
   asked to import their engine (`llama_cpp`, `vllm`) or print their version (Prometheus).

buildah runs with `--storage-driver vfs` and `--isolation chroot`: what works unprivileged in
a container (ENGINES.md). Run as root, as `make image-test` does (`make tools` installs
buildah and debootstrap). Exit status 0 only if every build and check passed.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from gateway.engines.plan import free_port

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "quantgate"
TARGETS = ("gateway", "llamacpp", "vllm-cpu", "prometheus")
DEBIAN, PYTHON = "localhost/quantgate-debian:bookworm", "localhost/quantgate-python:3.11-bookworm"
SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
BUILDAH = ["buildah", "--storage-driver", "vfs"]
# no --layers: vfs stores every layer as a full copy of the tree (a cached step of the vllm-cpu
# build is gigabytes); the llama.cpp compile, the slow part, is cached as a wheel instead
BUD = [*BUILDAH, "bud", "--isolation", "chroot"]
RUN = [*BUILDAH, "run", "--isolation", "chroot"]
BUILD_CA = "/run/quantgate-build-ca.crt"  # where build containers see pip's CA bundle
# free disk a build needs: its measured peak (2.3, 3.2, 12.0 and 1.8 GB) with some margin
ROOM_GB = {"gateway": 3, "llamacpp": 5, "vllm-cpu": 16, "prometheus": 3}
SMOKE = {
    "llamacpp": ["python", "-c", "import llama_cpp; print('llama_cpp', llama_cpp.__version__)"],
    "vllm-cpu": ["python", "-c", "import vllm; print('vllm', vllm.__version__)"],
    "prometheus": ["sh", "-c", "/usr/bin/prometheus --version 2>&1 | head -n 1"],
}


class Failed(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS), help="Dockerfile targets")
    parser.add_argument("--no-check", action="store_true", help="build only")
    parser.add_argument("--logs", type=Path, default=CACHE / "logs" / "images")
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    args.logs.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    try:
        tools()
        with step("base images", times):
            base(args.logs)
        for target in targets:
            with step(f"image {target}", times):
                build(target, args.logs)
        if not args.no_check:
            for target in targets:
                with step(f"check {target}", times):
                    check(target, args.logs)
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print("\nimage                                     size")
    for target in targets:
        print(f"localhost/quantgate:{target:<20}  {size(f'localhost/quantgate:{target}')}")
    print(
        f"total {sum(times.values()) / 60:.1f} min: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in times.items())
    )
    return 0


@contextmanager
def step(name: str, times: dict[str, float]) -> Iterator[None]:
    print(f"==> {name}", flush=True)
    started = time.monotonic()
    yield
    times[name] = time.monotonic() - started
    print(f"    {name}: done in {times[name]:.0f} s", flush=True)


def run(argv: Sequence[str], log: Path, **kwargs: object) -> None:
    """Run a command, its output appended to `log`; on failure, raise with the log's tail."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise Failed(
            f"{argv[0]} {argv[1] if len(argv) > 1 else ''} exited {done.returncode} "
            f"(log {log}):\n{tail}"
        )


def tools() -> None:
    missing = [t for t in ("buildah", "debootstrap") if shutil.which(t) is None]
    if missing:
        raise Failed(f"{' and '.join(missing)} not found: `make tools` installs them (apt)")


def base(logs: Path) -> None:
    rootfs_tar = CACHE / "images" / f"{SUITE}-minbase.tar"
    if not rootfs_tar.exists():
        rootfs_tar.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=rootfs_tar.parent) as tmp:
            root = Path(tmp) / "rootfs"
            print(f"    debootstrap {SUITE} from {mirror()} (about a minute)", flush=True)
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=ca-certificates",
                    SUITE,
                    str(root),
                    mirror(),
                ],
                logs / "debootstrap.log",
            )
            partial = Path(tmp) / "rootfs.tar"
            run(["tar", "-C", str(root), "-cf", str(partial), "."], logs / "debootstrap.log")
            partial.rename(rootfs_tar)  # complete, or not there
    with tempfile.TemporaryDirectory() as context:
        os.link(rootfs_tar, Path(context) / "rootfs.tar")
        for stage, tag in (("debian", DEBIAN), ("python", PYTHON)):
            run(
                [
                    *BUD,
                    "-f",
                    str(HERE / "Containerfile.base"),
                    "--target",
                    stage,
                    "-t",
                    tag,
                    context,
                ],
                logs / "base.log",
            )


def mirror() -> str:
    """The first Debian mirror apt is configured with (deb822 or one-line format)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    listing = Path("/etc/apt/sources.list")
    if listing.exists():
        for line in listing.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["deb"] and "debian-security" not in line:
                return next(p for p in parts[1:] if p.startswith("http"))
    return MIRROR


def build(target: str, logs: Path) -> None:
    tag = f"localhost/quantgate:{target}"
    # no layer cache is used, so the last build's image only takes room (vfs copies whole trees)
    subprocess.run([*BUILDAH, "rmi", tag], capture_output=True)
    room(target)
    with pip_setup() as volumes:
        run(
            [
                *BUD,
                "-f",
                str(REPO / "Dockerfile"),
                "--target",
                target,
                "--build-arg",
                f"PYTHON={PYTHON}",
                "--build-arg",
                f"DEBIAN={DEBIAN}",
                *volumes,
                "-t",
                tag,
                str(REPO),
            ],
            logs / f"{target}.log",
        )
    # untagged images (a tag moved to the new build) would fill the disk: vfs copies whole trees
    subprocess.run([*BUILDAH, "rmi", "--prune"], capture_output=True)


def room(target: str) -> None:
    """Fail before a build that would run out of disk half-way: vfs holds the build
    container's tree and the committed layer, each a whole copy, and the layer's blob passes
    through /var/tmp."""
    info = subprocess.run([*BUILDAH, "info"], capture_output=True, text=True)
    store = json.loads(info.stdout)["store"]["GraphRoot"] if info.returncode == 0 else "/"
    need = ROOM_GB[target]
    for path in dict.fromkeys([store, os.environ.get("TMPDIR", "/var/tmp")]):
        free = shutil.disk_usage(path if Path(path).exists() else "/").free / 1e9
        if free < need:
            raise Failed(
                f"{target}: {free:.1f} GB free under {path}, the build needs about {need} GB; "
                "free some (`buildah --storage-driver vfs rmi --prune` drops unused images)"
            )


@contextmanager
def pip_setup() -> Iterator[list[str]]:
    """`-v` flags that give the build containers this machine's pip configuration: a pip.conf
    with its index, find-links and constraint settings (plus the llama-cpp-python wheel cache
    of `make install`), and, read-only, every local folder those name."""
    merged = configparser.ConfigParser()
    for path in (
        Path("/etc/pip.conf"),
        Path("/etc/xdg/pip/pip.conf"),
        Path.home() / ".config/pip/pip.conf",
        Path.home() / ".pip/pip.conf",
    ):
        if path.exists():
            merged.read(path)
    settings = dict(merged["global"]) if merged.has_section("global") else {}
    for key, value in os.environ.items():  # PIP_FIND_LINKS=... overrides the files, as in pip
        if key.startswith("PIP_") and key != "PIP_CONFIG_FILE":
            settings[key[4:].lower().replace("_", "-")] = value
    wheels = CACHE / "wheels"
    if wheels.is_dir():
        settings["find-links"] = " ".join([*settings.get("find-links", "").split(), str(wheels)])
    mounts = set()
    for value in settings.values():
        for word in value.split():
            path = Path(word.removeprefix("file://"))
            if path.is_absolute() and path.exists() and not str(path).startswith("/etc/ssl"):
                path = path if path.is_dir() else path.parent
                # a PEP 503 index (`.../simple`) may link to files beside it
                mounts.add(path.parent if path.name == "simple" else path)
    cert = settings.get("cert")  # a proxy's CA, say: the image's own bundle lacks it
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "pip.conf"
        out = configparser.ConfigParser()
        out["global"] = {k: v for k, v in settings.items() if k not in ("cert", "config-file")}
        volumes = []
        if cert and Path(cert).exists():
            out["global"]["cert"] = BUILD_CA
            volumes += ["-v", f"{Path(cert).resolve()}:{BUILD_CA}:ro"]
        with conf.open("w") as f:
            out.write(f)
        volumes += ["-v", f"{conf}:/etc/pip.conf:ro"]
        for path in sorted(mounts):
            volumes += ["-v", f"{path}:{path}:ro"]
        yield volumes


def check(target: str, logs: Path) -> None:
    image = f"localhost/quantgate:{target}"
    if target == "gateway":
        check_gateway(image, logs)
        return
    container = new_container(image)
    try:
        run(
            [*RUN, container, "--", *SMOKE[target]],
            logs / f"check-{target}.log",
        )
        print("    " + (logs / f"check-{target}.log").read_text().splitlines()[-1])
    finally:
        remove_container(container)


def check_gateway(image: str, logs: Path) -> None:
    """The image's entrypoint serves a profile of one external upstream (a mock on this
    machine): /health, /v1/models and a chat completion answer through it."""
    command = entrypoint(image)
    mock_port, port = free_port(), free_port()
    log = logs / "check-gateway.log"
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "profile.yaml"
        profile.write_text(
            "model: checked\ndefault_variant: up\nvariants:\n"
            f"  - name: up\n    engine: {{kind: external, url: 'http://127.0.0.1:{mock_port}/v1',"
            " served_model: mock-model}\n"
        )
        os.chmod(tmp, 0o755)
        profile.chmod(0o644)
        mock = subprocess.Popen(
            [sys.executable, "-m", "quantgate", "mock-server", "--port", str(mock_port)],
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        container = new_container(image)
        argv = [
            *RUN,
            "-v",
            f"{tmp}:/check:ro",
            container,
            "--",
            *command,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--profile",
            "/check/profile.yaml",
        ]
        gateway = subprocess.Popen(
            argv, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/health", gateway, log)
            models = httpx.get(base + "/v1/models", timeout=10).json()
            ids = [m["id"] for m in models["data"]]
            if ids != ["checked", "checked@up"]:
                raise Failed(f"/v1/models listed {ids}")
            reply = httpx.post(
                base + "/v1/chat/completions",
                json={
                    "model": "checked",
                    "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 3,
                },
                timeout=30,
            )
            if reply.status_code != 200 or reply.headers.get("x-quantgate-variant") != "up":
                raise Failed(f"chat completion: {reply.status_code} {reply.text[:300]}")
            print(
                f"    /health ok, /v1/models {ids}, chat: "
                f"{reply.json()['choices'][0]['message']['content']!r}",
                flush=True,
            )
        finally:
            stop(gateway)
            stop(mock)
            remove_container(container)


def new_container(image: str) -> str:
    done = subprocess.run([*BUILDAH, "from", image], capture_output=True, text=True)
    if done.returncode != 0:
        raise Failed(f"buildah from {image}: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def remove_container(container: str) -> None:
    subprocess.run([*BUILDAH, "rm", container], capture_output=True)


def entrypoint(image: str) -> list[str]:
    """The image's ENTRYPOINT (buildah 1.28's --format has no `json`: read the whole JSON)."""
    done = subprocess.run(
        [*BUILDAH, "inspect", "--type", "image", image], capture_output=True, text=True, check=True
    )
    found: list[str] = json.loads(done.stdout)["OCIv1"]["config"]["Entrypoint"]
    return found


def size(image: str) -> str:
    done = subprocess.run(
        [*BUILDAH, "images", "--format", "{{.Size}}", image], capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log.read_text().splitlines()[-25:])
            raise Failed(f"the gateway image exited {proc.returncode} (log {log}):\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise Failed(f"{url} did not answer within {timeout:.0f} s (log {log})")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (PermissionError, ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
