# Seed 002's multi-threaded upper-case server, the Python side of the
# "200 clients" benchmark (scripts/tcp_upper_server_threaded.rhai is ours).
# Two changes from the seed: the port comes from the command line (0 picks
# a free one, printed first), and a client that closes ends its thread
# (the seed loops on empty data until the connection resets).
import socket, sys
from threading import Thread

def handler(conn, remote_address):
    while True:
        try:
            data = conn.recv(1024)
        except ConnectionResetError:
            print("%s:%s reset" % remote_address)
            break
        if not data:
            print("%s:%s disconnected" % remote_address)
            break
        conn.send(bytes(data.decode("utf-8").upper(), encoding="utf-8"))
    conn.close()

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
host, port = sys.argv[1].rsplit(":", 1) if len(sys.argv) > 1 else ("0.0.0.0", "8000")
listener.bind((host, int(port)))
listener.listen()
print("listening on port %d" % listener.getsockname()[1], flush=True)
while True:
    conn, remote_address = listener.accept()
    print("%s:%s connected" % remote_address, flush=True)
    Thread(target=handler, args=(conn, remote_address)).start()
