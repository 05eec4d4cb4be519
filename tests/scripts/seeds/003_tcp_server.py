# Seed 003's one-client-at-a-time TCP server, adapted for tests: it
# binds 127.0.0.1 on the port given (0 for any) and says which port it
# got.
from socket import socket, AF_INET, SOCK_STREAM
import sys

if __name__ == '__main__':
    server = socket(AF_INET, SOCK_STREAM)
    server.bind(('127.0.0.1', int(sys.argv[1])))
    server.listen(5)  # 最大连接数
    print("服务器启动 ...", server.getsockname()[1])

    while True:
        newSock, client_ip = server.accept()
        print("建立连接 ...")

        # 接收数据
        while True:
            data = newSock.recv(1024)
            if data:
                print("来自客户端的数据:", data.decode())
                if len(data) < 1024:
                    break
            else:
                break
        # 发送数据
        newSock.send(b'Hello')
        print("与客户端连接关闭 ...")
        newSock.close()

    server.close()
