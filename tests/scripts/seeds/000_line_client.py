# Seed 000's interactive client for the multi-process server, adapted
# for tests: the server is at 127.0.0.1 on the port given.
import socket, sys
#1. 创建服务端socket对象
client = socket.socket(family=socket.AF_INET, type=socket.SOCK_STREAM)
#2. 连接服务端
client.connect(('127.0.0.1', int(sys.argv[1])))
while True:
    # 3.给服务端发送消息
    send_data = input('client: >> ').encode('utf-8')
    if not send_data:
        continue
    client.send(send_data)
    if send_data == 'quit':
        break
#5. 关闭socket对象
client.close()
