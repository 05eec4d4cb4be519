# UDP ping-pong (seed 001's echo server and client): a datagram out and
# its echo back, per second. An empty datagram stops the server.
import socket, sys, threading, time
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
def echo(server):
    while True:
        data, addr = server.recvfrom(1024)
        if not data:
            break
        server.sendto(data, addr)
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 0))
serving = threading.Thread(target=echo, args=(server,))
serving.start()
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
address = server.getsockname()
ping = "ping".encode()
start = time.time()
for _ in range(N):
    client.sendto(ping, address)
    client.recvfrom(1024)
elapsed = time.time() - start
client.sendto(b"", address)
serving.join()
print(f"{N / elapsed:.0f}")
