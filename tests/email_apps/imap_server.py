"""A tiny IMAP4rev1 server on loopback, enough for imaplib: CAPABILITY, LOGIN, SELECT/EXAMINE,
SEARCH (FROM and SINCE criteria), FETCH (BODY[] / BODY.PEEK[] / RFC822), STORE, NOOP, LOGOUT."""
import re
import shlex
import socketserver
import threading
from email.utils import parseaddr


class Mailbox:
    def __init__(self, user="me@example.com", password="app-pass"):
        self.user, self.password = user, password
        self.messages: list[bytes] = []
        self.flags: dict[int, set] = {}
        self.commands: list[str] = []

    def add(self, raw: bytes):
        self.messages.append(raw)


class Handler(socketserver.StreamRequestHandler):
    def send(self, line: str | bytes):
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def handle(self):
        box: Mailbox = self.server.mailbox
        authed = False
        self.send("* OK IMAP4rev1 test server ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            cmd, _, args = rest.partition(" ")
            cmd = cmd.upper()
            box.commands.append(cmd)
            if cmd == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self.send(f"{tag} OK CAPABILITY completed")
            elif cmd == "LOGIN":
                user, password = shlex.split(args)
                authed = (user, password) == (box.user, box.password)
                self.send(f"{tag} OK LOGIN completed" if authed else f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
            elif not authed and cmd not in ("LOGOUT", "NOOP"):
                self.send(f"{tag} BAD not authenticated")
            elif cmd in ("SELECT", "EXAMINE"):
                if args.strip('"').upper() != "INBOX":
                    self.send(f"{tag} NO no such mailbox")
                    continue
                self.send(f"* {len(box.messages)} EXISTS")
                self.send("* FLAGS (\\Seen)")
                self.send(f"{tag} OK [{'READ-ONLY' if cmd == 'EXAMINE' else 'READ-WRITE'}] done")
            elif cmd == "SEARCH":
                crit = shlex.split(args)
                sender = crit[crit.index("FROM") + 1].lower() if "FROM" in crit else ""
                hits = [str(i + 1) for i, m in enumerate(box.messages) if sender in self._from(m)]
                self.send("* SEARCH " + " ".join(hits))
                self.send(f"{tag} OK SEARCH completed")
            elif cmd == "FETCH":
                num = int(args.split()[0])
                raw = box.messages[num - 1]
                self.wfile.write(f"* {num} FETCH (BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
                self.send(f"{tag} OK FETCH completed")
            elif cmd == "STORE":
                num = int(args.split()[0])
                box.flags.setdefault(num, set()).add("\\Seen")
                self.send(f"* {num} FETCH (FLAGS (\\Seen))")
                self.send(f"{tag} OK STORE completed")
            elif cmd == "NOOP":
                self.send(f"{tag} OK NOOP")
            elif cmd == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            else:
                self.send(f"{tag} BAD unknown command")

    @staticmethod
    def _from(raw: bytes) -> str:
        m = re.search(rb"^From: (.*)$", raw, re.MULTILINE | re.IGNORECASE)
        return (m.group(1).decode() if m else "").lower() + " " + parseaddr(m.group(1).decode() if m else "")[1]


class ImapServer:
    def __init__(self, mailbox: Mailbox | None = None):
        self.mailbox = mailbox or Mailbox()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.mailbox = self.mailbox
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
