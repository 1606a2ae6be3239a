"""A real S3-compatible server for the tests: moto's standalone server (moto.server) in its own
process on loopback, reached over HTTP by boto3 exactly as R2 is, with IAM authentication and
authorization enforced. A test can stop it and start it again on the same port (the objects
are kept, as a real store keeps them), or have it stop by itself when the Nth part of a
multipart upload arrives, dropping that request's connection.

Run as a script it is the server process: it prints `port N`, then obeys lines on stdin
(`stop`, `start`, `stop-at-part N`), answering `ok` to each.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }


class S3Server:
    """The server process, with three IAM users: `owner` (every S3 permission, for creating
    buckets and for a test to inspect or damage objects), `devops` (only the policy given) and
    `outsider` (no permission at all)."""

    def __init__(self, log_path: Path, devops_policy: dict):
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed by close()
        self._process = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        words = self._process.stdout.readline().split()
        if words[:1] != ["port"]:
            self.close()
            raise RuntimeError(f"the S3 server did not start; see {log_path}")
        self.port = int(words[1])
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.owner = self._user("owner", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        self.devops = self._user("devops", *devops_policy["Statement"])
        self.outsider = self._user("outsider")
        # From here on every request must be signed by one of the users above.
        urllib.request.urlopen(
            urllib.request.Request(
                f"{self.endpoint_url}/moto-api/reset-auth",
                data=b"0",
                headers={"Content-Type": "text/plain"},
            )
        ).read()

    def _user(self, name: str, *statements: dict) -> Credentials:
        iam = self.client(Credentials("setup", "setup"), service="iam")
        iam.create_user(UserName=name)
        if statements:
            iam.put_user_policy(
                UserName=name,
                PolicyName=f"{name}-backups",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
            )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    def client(self, credentials: Credentials | None = None, service: str = "s3"):
        """A boto3 client of this server (default: the owner's)."""
        import boto3

        credentials = credentials or self.owner
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
        )

    def _command(self, line: str) -> None:
        self._process.stdin.write(line + "\n")
        answer = self._process.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"the S3 server answered {answer!r} to {line!r}")

    def stop(self) -> None:
        """Stop serving: the port is closed, connections are refused. Objects are kept."""
        self._command("stop")

    def start(self) -> None:
        self._command("start")

    def stop_at_part(self, number: int) -> None:
        """Stop the server when part `number` of any multipart upload arrives."""
        self._command(f"stop-at-part {number}")

    def wait_stopped(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the S3 server did not stop")

    def close(self) -> None:
        self._process.kill()
        self._process.wait()
        self._log.close()


# --- The server process -------------------------------------------------------------------------


class _Server:
    def __init__(self):
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            create_backend_app,
        )

        self._app = DomainDispatcherApplication(create_backend_app)
        self._lock = threading.Lock()
        self._stop_at_part = None
        self._server = None
        self._thread = None
        self.port = 0

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self._server = make_server(
            "127.0.0.1", self.port, self._wsgi, threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # the port refuses connections from now on
            self._thread.join()
            self._server = None

    def stop_at_part(self, number: int) -> None:
        self._stop_at_part = number

    def _wsgi(self, environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if environ["REQUEST_METHOD"] == "PUT" and "partNumber=" in query:
            number = int(query.split("partNumber=")[1].split("&")[0])
            with self._lock:
                crash = self._stop_at_part is not None and number >= self._stop_at_part
                if crash:
                    self._stop_at_part = None
            if crash:
                stopper = threading.Thread(target=self.stop)
                stopper.start()
                stopper.join()
                connection = environ["werkzeug.socket"]
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
                return []
        return self._app(environ, start_response)


def _serve() -> None:
    server = _Server()
    server.start()
    print(f"port {server.port}", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "stop":
            server.stop()
        elif command == "start":
            server.start()
        elif command == "stop-at-part":
            server.stop_at_part(int(args[0]))
        print("ok", flush=True)


if __name__ == "__main__":
    _serve()
