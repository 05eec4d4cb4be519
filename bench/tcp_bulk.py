# MB megabytes over one TCP connection (a file transfer without the
# file): bytes per second, counted by the receiver.
import socket, sys, threading, time
MB = int(sys.argv[1]) if len(sys.argv) > 1 else 10
got = 0
def receive(server):
    global got
    conn, _ = server.accept()
    while True:
        n = len(conn.recv(65536))
        if n == 0:
            break
        got += n
    conn.close()
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
start = time.time()
receiver = threading.Thread(target=receive, args=(server,))
receiver.start()
sender = socket.socket()
sender.connect(server.getsockname())
chunk = b"x" * 65536
total = MB * 1048576
sent = 0
while sent < total:
    sender.sendall(chunk)
    sent += len(chunk)
sender.shutdown(socket.SHUT_WR)
receiver.join()
assert got == sent, f"sent {sent} bytes, received {got}"
print(f"{got / (time.time() - start):.0f}")
