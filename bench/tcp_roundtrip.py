# One client, one upper-case server (seed 002): request/response round
# trips per second over one TCP connection.
import socket, sys, threading, time
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
def upper(server):
    conn, _ = server.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data.decode("utf-8").upper().encode("utf-8"))
    conn.close()
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
serving = threading.Thread(target=upper, args=(server,))
serving.start()
client = socket.socket()
client.connect(server.getsockname())
start = time.time()
for _ in range(N):
    client.sendall("hello, server".encode("utf-8"))
    client.recv(1024)
elapsed = time.time() - start
client.close()
serving.join()
print(f"{N / elapsed:.0f}")
