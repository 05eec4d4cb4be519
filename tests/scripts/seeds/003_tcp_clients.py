# Seed 003's TCP clients, adapted for tests: the server is at 127.0.0.1
# on the port given, and each worker runs the number of rounds given
# (the seed's run() loops for ever) with the pause given (the seed's 2 s).
from socket import socket, AF_INET, SOCK_STREAM
from multiprocessing import Process, Pool
from time import sleep
import sys

PORT = int(sys.argv[1])
ROUNDS = int(sys.argv[2])
PAUSE = float(sys.argv[3])


def simple_client():
    """ TCP客户端 """
    client = socket(AF_INET, SOCK_STREAM)
    print("与服务器连接 ...")
    addr = ('127.0.0.1', PORT)
    client.connect(addr)
    client.send("Hello Server".encode())
    print("------接收数据中------")
    data = client.recv(2048)
    print("接收数据: {}".format(data.decode()))
    print("与服务断开连接 ...")
    client.close()


def deal_with_client(name):
    """ TCP客户端 """
    client = socket(AF_INET, SOCK_STREAM)
    print("与服务器连接 ...")
    addr = ('127.0.0.1', PORT)
    client.connect(addr)
    client.send("Hello server {}".format(name).encode())
    while True:
        print("------接收数据中------")
        data = client.recv(2048)
        if len(data) > 0:
            print("接收到的数据:{}".format(data.decode()))
            if len(data) < 1024:
                break
        else:
            break
    print("与服务断开连接 ...")
    client.close()


def run(name):
    for i in range(ROUNDS):
        deal_with_client(name)
        # simple_client()
        sleep(PAUSE)  # 休眠 3 秒


def usePool():
    pool = Pool(3)

    for i in range(3):
        pool.apply_async(run, args=(i,))

    pool.close()  # 关闭进程池,拒绝新的子进程
    pool.join()  # 阻塞主进程


if __name__ == '__main__':
    if len(sys.argv) > 4 and sys.argv[4] == 'simple':
        simple_client()
    else:
        usePool()
