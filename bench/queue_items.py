# One producer thread puts N items, one consumer thread gets them.
import sys, threading, time, queue
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
q = queue.Queue(100)
def produce():
    for i in range(N):
        q.put(i)
def consume():
    for _ in range(N):
        q.get()
start = time.time()
ts = [threading.Thread(target=produce), threading.Thread(target=consume)]
for t in ts: t.start()
for t in ts: t.join()
print(f"{N / (time.time() - start):.0f}")
