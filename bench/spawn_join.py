# Start a thread and wait for it, N times.
import sys, threading, time
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
def work():
    pass
start = time.time()
for _ in range(N):
    t = threading.Thread(target=work)
    t.start()
    t.join()
print(f"{N / (time.time() - start):.0f}")
