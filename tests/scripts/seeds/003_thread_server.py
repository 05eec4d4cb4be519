# Seed 003's multi-thread concurrent server, adapted for tests: it binds
# 127.0.0.1 on the port given (0 for any) and says which port it got.
from socket import socket, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR
import sys
import threading

"""
    并发服务器之多线程
"""


def deal_request(newSock, client_ip):
    """ 处理客户端请求 """
    # 接收数据
    while True:
        data = newSock.recv(1024)
        if len(data) > 0:
            print("来自客户端的数据:", data.decode())
            if len(data) < 1024:
                break
        else:
            break
    print("来自客户端的数据:", newSock.recv(1024).decode())
    # 发送数据
    newSock.send('Hello Client'.encode())
    print("与客户端连接关闭 ...")
    newSock.close()


def main():
    server = socket(AF_INET, SOCK_STREAM)
    # 设置套接字,让同时客户端连接服务器端口
    server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    server.bind(('127.0.0.1', int(sys.argv[1])))
    server.listen(5)  # 最大连接数
    print("服务器启动 ...", server.getsockname()[1])
    try:
        while True:
            newSock, client_ip = server.accept()
            print("建立连接 ...")
            client = threading.Thread(target=deal_request, args=(newSock, client_ip))
            client.start()
    finally:
        server.close()

if __name__ == '__main__':
    main()
