#!/usr/bin/env python3
"""AWS test fixture: moto's server (STS, IAM, ECR) on 127.0.0.1 with request authentication ON, so every
call the agent makes has its SigV4 signature verified and is checked against IAM policies.

    moto_fixture.py start --dir DIR [--max-lifetime S]   # writes DIR/fixture.json, returns when ready
    moto_fixture.py stop --dir DIR

Set-up, made with boto3 while authentication is still off and then switched on (moto's /moto-api/reset-auth):
- IAM user `cr-agent` with an access key (the agent's own identity), allowed sts:AssumeRole and nothing else;
- role `ecr-reader` (ecr:GetAuthorizationToken, ecr:DescribeRepositories, ecr:ListImages, ...),
  role `no-ecr` (no ECR permission at all);
- ECR repositories app/one (tags 1.0, 2.0, latest), app/two, base/debian.
- role `agent-instance` (allowed sts:AssumeRole), assumed twice while authentication is off: the
  temporary credentials an EC2 instance profile and an ECS task role would hand the agent
  (`instance_credentials`, `container_credentials`; the metadata stand-in serves them).
fixture.json: endpoint, region, account, access_key_id, secret_access_key, role_arn, no_ecr_role_arn,
ecr_password (what GetAuthorizationToken hands out for the role's account), instance_credentials,
container_credentials ({AccessKeyId, SecretAccessKey, Token, Expiration}), calls (the call log), pid.

Two changes to moto's answers, both towards what AWS does: GetAuthorizationToken's `expiresAt` is 12 hours
from now, as ECR documents (moto answers a fixed 2015 date); and every successful STS AssumeRole /
AssumeRoleWithWebIdentity and ECR call appends one line to DIR/calls.jsonl,
`{"action", "access_key_id" (from the SigV4 Credential=, null when unsigned), "t"}`, so tests can count
calls and see which credentials signed them.
Needs moto[server] and boto3 in .venv (scripts/deps.sh)."""
import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

REGION = "us-east-1"
ECR_ACTIONS = ["ecr:GetAuthorizationToken", "ecr:DescribeRepositories", "ecr:ListImages",
               "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


def set_up(endpoint: str) -> dict:
    import boto3
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="setup", aws_secret_access_key="setup")
    iam, sts, ecr = boto3.client("iam", **kw), boto3.client("sts", **kw), boto3.client("ecr", **kw)
    account = sts.get_caller_identity()["Account"]
    iam.create_user(UserName="cr-agent")
    key = iam.create_access_key(UserName="cr-agent")["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": [f"arn:aws:iam::{account}:user/cr-agent", f"arn:aws:iam::{account}:role/agent-instance"]
                           # moto matches the caller's ARN literally: the agent-instance role's two sessions
                           + [f"arn:aws:sts::{account}:assumed-role/agent-instance/agent-{n}" for n in ("instance", "container")]}}]}
    roles = {}
    for name, actions in (("ecr-reader", ECR_ACTIONS), ("no-ecr", ["s3:ListAllMyBuckets"])):
        roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    iam.put_user_policy(UserName="cr-agent", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    instance_trust = dict(trust)
    instance_trust["Statement"] = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}]
    iam.create_role(RoleName="agent-instance", AssumeRolePolicyDocument=json.dumps(instance_trust))
    iam.put_role_policy(RoleName="agent-instance", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    temporary = {}
    for name in ("instance", "container"):
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/agent-instance", RoleSessionName=f"agent-{name}",
                            DurationSeconds=43200)["Credentials"]
        temporary[name] = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                           "Token": c["SessionToken"], "Expiration": c["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}
    for repo in ("app/one", "app/two", "base/debian"):
        ecr.create_repository(repositoryName=repo)
    for i, tag in enumerate(("1.0", "2.0", "latest")):
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                               "digest": "sha256:" + f"{i:064x}"}, "layers": []}
        ecr.put_image(repositoryName="app/one", imageManifest=json.dumps(manifest), imageTag=tag)
    return {"account": account, "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
            "role_arn": roles["ecr-reader"], "no_ecr_role_arn": roles["no-ecr"],
            "ecr_password": f"{account}-auth-token",
            "instance_credentials": temporary["instance"], "container_credentials": temporary["container"]}


def record_calls(log: Path) -> None:
    """Wraps moto's STS and ECR handlers: each call that reaches them (authentication passed) is logged
    with the access key ID that signed it; GetAuthorizationToken's expiresAt becomes now + 12 h."""
    import datetime
    import re as _re
    import threading
    from moto.ecr.responses import ECRResponse
    from moto.sts.responses import TokenResponse
    lock = threading.Lock()

    def wrap(cls, method: str, action: str) -> None:
        original = getattr(cls, method)

        def logged(self, *a, **kw):
            result = original(self, *a, **kw)
            m = _re.search(r"Credential=([^/,\s]+)/", self.headers.get("Authorization") or "")
            with lock, open(log, "a") as f:
                f.write(json.dumps({"action": action, "access_key_id": m[1] if m else None, "t": time.time()}) + "\n")
            return result
        setattr(cls, method, logged)

    for method, action in (("assume_role", "AssumeRole"), ("assume_role_with_web_identity", "AssumeRoleWithWebIdentity")):
        wrap(TokenResponse, method, action)
    for method, action in (("describe_repositories", "DescribeRepositories"), ("list_images", "ListImages")):
        wrap(ECRResponse, method, action)
    original_token = ECRResponse.get_authorization_token

    def token_12h(self, *a, **kw):
        result = original_token(self, *a, **kw)
        later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=12)
        for entry in getattr(result, "result", {}).get("authorizationData", []):
            entry["expiresAt"] = later
        return result
    ECRResponse.get_authorization_token = token_12h
    wrap(ECRResponse, "get_authorization_token", "GetAuthorizationToken")


def reset_auth(endpoint: str, allowed_unauthenticated: int) -> None:
    import urllib.request
    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=str(allowed_unauthenticated).encode(), method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def cmd_start(a) -> int:
    """Starts the server in a detached child (`serve`) and returns once it has written fixture.json."""
    d = Path(a.dir).resolve()
    d.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", "--dir", str(d),
                              "--max-lifetime", str(a.max_lifetime)],
                             stdout=subprocess.PIPE, stderr=open(d / "moto.log", "ab"), stdin=subprocess.DEVNULL,
                             start_new_session=True)
    ready, _, _ = select.select([child.stdout], [], [], 90)      # the child prints one line when ready
    line = child.stdout.readline() if ready else b""
    child.stdout.close()
    if not line:
        child.kill()
        print("moto_fixture: the server did not start; log: " + (d / "moto.log").read_text(errors="replace")[-2000:],
              file=sys.stderr)
        return 1
    print(line.decode().strip())
    return 0


def cmd_serve(a) -> int:
    d = Path(a.dir)
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "1000000"       # read by moto at import: set-up first
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})   # taken by sigtimedwait below
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    info = set_up(endpoint)
    record_calls(d / "calls.jsonl")        # after set-up: only the agent's calls are logged
    info["calls"] = str(d / "calls.jsonl")
    reset_auth(endpoint, 0)          # from here on every request is authenticated and authorized
    info.update({"endpoint": endpoint, "region": REGION, "pid": os.getpid()})
    (d / "fixture.json").write_text(json.dumps(info, indent=2) + "\n")
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    signal.sigtimedwait({signal.SIGTERM, signal.SIGINT}, a.max_lifetime)   # until stopped, or the lifetime ends
    server.stop()
    return 0


def cmd_stop(a) -> int:
    path = Path(a.dir) / "fixture.json"
    if not path.exists():
        return 0
    pid = json.loads(path.read_text())["pid"]
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    path.unlink()
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--dir", required=True)
    s.add_argument("--max-lifetime", type=float, default=900)
    s.set_defaults(fn=cmd_start)
    v = sub.add_parser("serve", help=argparse.SUPPRESS)
    v.add_argument("--dir", required=True)
    v.add_argument("--max-lifetime", type=float, default=900)
    v.set_defaults(fn=cmd_serve)
    t = sub.add_parser("stop")
    t.add_argument("--dir", required=True)
    t.set_defaults(fn=cmd_stop)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
