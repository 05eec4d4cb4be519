# Seed 000's multi-process server, adapted for tests: it binds 127.0.0.1
# on the port given (0 for any) and says which port it got.
import socket, sys
from multiprocessing import Process


def dealWithClient(clientSocketObj, clientAddress):
    while True:
        # 5. 接收客户端发送的消息
        recv_data = clientSocketObj.recv(1024).decode('utf-8')
        print(clientAddress[0] + str(clientAddress[1]) + ':> ' + recv_data)
        if recv_data == 'quit':
            break
    clientSocketObj.close()


if __name__ == '__main__':
    #1. 创建服务端socket对象
    server = socket.socket(family=socket.AF_INET, type=socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    #2. 绑定地址和端口(IP:port)
    server.bind(('127.0.0.1', int(sys.argv[1])))
    #3. 监听是否有客户端连接?listen
    server.listen(5)
    print('server start .........', server.getsockname()[1])
    while True:
        # 4.接收客户端的连接accept
        clientSocketObj, clientAddress = server.accept()
        #dealWithClient(clientSocketObj)
        p = Process(target=dealWithClient, args=(clientSocketObj, clientAddress))
        p.start()
    #server.close()
