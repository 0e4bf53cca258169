/* Seed 000, 1. 队列 Queue / 队列实现生产者消费者模型 (producer and consumer): the producer
 * puts "work：0" to "work：4"; the consumer prints each until it gets None, which the parent
 * puts once the producer has ended. None is an empty (0-byte) message here: the real ones
 * are never empty. */
#include "example.h"

MPROC_TASK_ARGS(consumer, out, mproc_queue *, queue)
{
    mproc_bytes task;
    int rc;
    while ((rc = mproc_queue_get(queue, MPROC_FOREVER, &task)) == 0 && task.len > 0) {
        printf("%.*s\n", (int)task.len, (const char *)task.data); /* until task is None */
        mproc_bytes_free(&task);
    }
    mproc_bytes_free(&task);
    mproc_queue_destroy(queue);
    return rc != 0;
}

MPROC_TASK_ARGS(producer, out, mproc_queue *, queue)
{
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) {
        char work[32];
        int n = snprintf(work, sizeof work, "work：%d", i);
        rc = mproc_queue_put(queue, work, (size_t)n, MPROC_FOREVER);
    }
    mproc_queue_destroy(queue);
    return rc != 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_queue *queue;
    mproc_process *p_t1, *p_t2;
    if (mproc_queue_create(&queue, 0) != 0)
        return 1;
    mproc_process_opts consumer = {.target = "consumer", .args = MPROC_ARGS(queue)};
    mproc_process_opts producer = {.target = "producer", .args = MPROC_ARGS(queue)};
    if (mproc_process_start_new(&p_t1, &consumer) != 0 ||
        mproc_process_start_new(&p_t2, &producer) != 0)
        return 1;

    mproc_process_join(p_t2, MPROC_FOREVER); /* 保证生产者全部生产完毕,才应该发送结束信号 */
    int rc = mproc_queue_put(queue, NULL, 0, MPROC_FOREVER); /* queue.put(None) */
    mproc_process_join(p_t1, MPROC_FOREVER);
    mproc_process_destroy(p_t1);
    mproc_process_destroy(p_t2);
    mproc_queue_destroy(queue);
    return rc != 0;
}
