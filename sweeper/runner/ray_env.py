"""Starting or joining Ray: a local instance on loopback only, or a cluster, whose trials
get the driver's cache, offline and credential variables."""

from __future__ import annotations

import json
import os

from sweeper.errors import SweeperError, one_line


def init_ray(address: str | None) -> None:
    """Join `address`, or start a local Ray that listens on loopback only. A local sweep
    is always a new instance of its own: Ray would otherwise join whatever cluster
    `ray start` last started on this machine (or RAY_ADDRESS names), and its trials would
    die with that cluster; a cluster is joined only when asked (`--address auto`)."""
    if address is None:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray starts: 127.0.0.1
    import ray

    if ray.is_initialized():
        return
    try:
        if address is None:
            ray.init(address="local", include_dashboard=False, log_to_driver=True,
                     configure_logging=False)
        else:
            env = carried_env()
            ray.init(address=address, runtime_env={"env_vars": env} if env else None)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise SweeperError(f"cannot reach Ray at {address or 'local'}: "
                           f"{one_line(exc, 200)}") from None


# What trials on other nodes need from the driver's environment: caches (put them on
# shared storage), offline flags, hub and tracking credentials.
CARRIED = ("HF_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "HF_HUB_OFFLINE",
           "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "SWEEPER_CACHE",
           "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
           "MLFLOW_TRACKING_INSECURE_TLS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
           "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")


def carried_env() -> dict[str, str]:
    """The CARRIED variables set here, less those a submitted job's runtime_env already
    sets (Ray refuses the same key twice)."""
    job = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}") or "{}")
    taken = set(((job.get("runtime_env") or {}).get("env_vars") or {}))
    return {k: os.environ[k] for k in CARRIED if k in os.environ and k not in taken}
