/* Seed 000, 1. 队列 Queue / 队列实现数据交互 (data through a Queue): three children each put
 * {data: data**3} on a Queue and count that number down; the parent joins them, then
 * takes and prints what is in the queue until it is empty. A message is bytes here, so
 * the dict {data: res} travels as a pack of the two numbers and the parent prints it as
 * Python would. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, long long, data, mproc_queue *, queue)
{
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile long long res = data * data * data;
    int rc = mproc_queue_put_pack(queue, MPROC_ARGS(data, res), MPROC_FOREVER); /* {data: res} */
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", data, (long long)mproc_getpid());
    mproc_queue_destroy(queue);
    return rc != 0;
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
        mproc_process_opts opts = {.target = "process_task",
                                   .args = MPROC_ARGS(process_data[i], queue)};
        if (mproc_process_start_new(&task_list[i], &opts) != 0)
            return 1;
    }
    for (int i = 0; i < 3; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    while (!mproc_queue_empty(queue)) {
        mproc_bytes msg;
        long long data, res;
        if (mproc_queue_get(queue, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &data, &res))
            return 1;
        printf("{%lld: %lld}\n", data, res); /* print(queue.get()) */
        mproc_bytes_free(&msg);
    }
    mproc_queue_destroy(queue);
    return 0;
}
