# Seed 002's single-threaded upper-case server, adapted for tests: it
# binds 127.0.0.1 on the port given (0 for any) and says which port it
# got.
import socket
import sys

def beimenchuixue_alone_socket():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.1', int(sys.argv[1])))
    listener.listen()
    print("port", listener.getsockname()[1])
    while True:
        conn, remote_address = listener.accept()
        print("%s:%s 建立连接" % remote_address)
        while True:
            # 处理客户端端口异常
            try:
                data = conn.recv(1024).decode("utf-8")
            except ConnectionResetError as e:
                print("%s:%s 断开连接" % remote_address)
                conn.close()
                break
            conn.send(bytes(data.upper(), encoding='utf-8'))

if __name__ == '__main__':
    print("北门吹雪: http://www.cnblogs.com/2bjiujiu/")
    beimenchuixue_alone_socket()
