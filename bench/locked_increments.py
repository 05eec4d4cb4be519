# Two threads each add 1 to a shared number N times under a lock (seed 003).
import sys, threading, time
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
num = 0
mutex = threading.Lock()
def add():
    global num
    for _ in range(N):
        mutex.acquire()
        num += 1
        mutex.release()
start = time.time()
ts = [threading.Thread(target=add) for _ in range(2)]
for t in ts: t.start()
for t in ts: t.join()
assert num == 2 * N
print(f"{2 * N / (time.time() - start):.0f}")
