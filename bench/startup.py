# Times a command from start to exit, RUNS times, and prints the median in
# milliseconds: python3 bench/startup.py RUNS CMD ARGS...
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
    times.append((time.perf_counter() - start) * 1000)
print(f"{statistics.median(times):.2f}")
