/* Seed 001 §8, 进程间通信(IPC机制) (a Queue(3), first in first out): three messages fill the
 * basket, three gets take them out in order. The seed's last q.get() on the empty queue
 * blocks for ever (队列为空，等待加入，也会阻塞); here it waits 0.3 s and reports the
 * timeout, Python's queue.Empty, so that the program ends. Messages are bytes: the dict
 * {'a': 2} travels as the text Python prints for it. */
#include "example.h"

/* print(q.get(timeout)); a get that fails says why (queue.Empty is MPROC_ETIMEDOUT) */
static void print_get(mproc_queue *q, int64_t timeout_ms)
{
    mproc_bytes msg;
    int rc = mproc_queue_get(q, timeout_ms, &msg);
    if (rc == 0)
        printf("%.*s\n", (int)msg.len, (const char *)msg.data);
    else
        printf("q.get(timeout=%g) -> %s (queue.Empty)\n", timeout_ms / 1000.0, mproc_errname(rc));
    mproc_bytes_free(&msg);
}

int main(int argc, char **argv)
{
    mproc_queue *q; /* q=Queue(3) */
    if (mproc_init(&argc, &argv) != 0 || mproc_queue_create(&q, 3) != 0)
        return 1;
    /* 添加 */
    if (mproc_queue_put(q, "a", 1, MPROC_FOREVER) || mproc_queue_put(q, "b", 1, MPROC_FOREVER) ||
        mproc_queue_put(q, "{'a': 2}", 8, MPROC_FOREVER))
        return 1;
    printf("篮子满了\n");
    /* 队列满了，相当于锁了: a fourth put would block here (the seed leaves it commented out)
     * mproc_queue_put(q, "{'a': 2}", 8, MPROC_FOREVER); */

    /* 提取 */
    print_get(q, MPROC_FOREVER);
    print_get(q, MPROC_FOREVER);
    print_get(q, MPROC_FOREVER);
    /* 队列为空，等待加入，也会阻塞，相当于锁了 */
    printf("队列为空\n");
    print_get(q, 300);
    mproc_queue_destroy(q);
    return 0;
}
