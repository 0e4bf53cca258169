/* Seed 000, 1. 队列 Queue / 队列实现数据交互 (data through a Queue): three children each put
 * {data: data**3} on a Queue and count that number down; the parent joins them, then
 * takes and prints what is in the queue until it is empty. A message is bytes here, so
 * the dict {data: res} travels as a pack of the two numbers and the parent prints it as
 * Python would. */
#include "example.h"

MPROC_TASK(process_task, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t data = 0;
    mproc_queue *queue;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &data) != 0 || mproc_unpack_queue(&u, &queue) != 0)
        return 1;
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    int64_t res = data * data * data;
    mproc_pack *msg; /* queue.put({data: res}) */
    mproc_bytes bytes;
    mproc_pack_create(&msg);
    mproc_pack_i64(msg, data);
    mproc_pack_i64(msg, res);
    mproc_pack_view(msg, &bytes);
    int rc = mproc_queue_put(queue, bytes.data, bytes.len, MPROC_FOREVER);
    mproc_pack_destroy(msg);

    volatile int64_t left = res;
    while (left > 0)
        left -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
    mproc_queue_destroy(queue);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int64_t process_data[] = {100, 200, 300};
    mproc_process *task_list[3];
    mproc_queue *queue;
    if (mproc_queue_create(&queue, 0) != 0)
        return 1;
    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    for (int i = 0; i < 3; i++) {
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_i64(args, process_data[i]);
        mproc_pack_handle(args, queue);
        task_list[i] = start_process(&(mproc_process_opts){.target = "process_task", .args = args});
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < 3; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    while (!mproc_queue_empty(queue)) {
        mproc_bytes msg;
        if (mproc_queue_get(queue, MPROC_FOREVER, &msg) != 0)
            return 1;
        mproc_unpacker u; /* print(queue.get()) */
        int64_t data = 0, res = 0;
        mproc_unpack_init(&u, &msg);
        mproc_unpack_i64(&u, &data);
        mproc_unpack_i64(&u, &res);
        printf("{%lld: %lld}\n", (long long)data, (long long)res);
        mproc_bytes_free(&msg);
    }
    mproc_queue_destroy(queue);
    return 0;
}
