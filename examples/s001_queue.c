/* Seed 001 §8, 进程间通信(IPC机制) (a Queue(3), first in first out): three messages fill the
 * basket, three gets take them out in order. The seed's last q.get() on the empty queue
 * blocks for ever (队列为空，等待加入，也会阻塞); here it waits 0.3 s and reports the
 * timeout, Python's queue.Empty, so that the program ends. Messages are bytes: the dict
 * {'a': 2} travels as the text Python prints for it. */
#include "example.h"

int main(int argc, char **argv)
{
    mproc_queue *q; /* q=Queue(3), then 添加 */
    if (mproc_init(&argc, &argv) != 0 || mproc_queue_create(&q, 3) != 0 ||
        mproc_queue_put(q, "a", 1, MPROC_FOREVER) || mproc_queue_put(q, "b", 1, MPROC_FOREVER) ||
        mproc_queue_put(q, "{'a': 2}", 8, MPROC_FOREVER))
        return 1;
    printf("篮子满了\n");
    /* 队列满了，相当于锁了: a fourth put would block here (the seed leaves it commented out)
     * mproc_queue_put(q, "{'a': 2}", 8, MPROC_FOREVER); */

    mproc_bytes msg; /* 提取 */
    for (int i = 0; i < 3; i++) {
        if (mproc_queue_get(q, MPROC_FOREVER, &msg) != 0)
            return 1;
        printf("%.*s\n", (int)msg.len, (const char *)msg.data);
        mproc_bytes_free(&msg);
    }
    /* 队列为空，等待加入，也会阻塞，相当于锁了 */
    printf("队列为空\n");
    int rc = mproc_queue_get(q, 300, &msg); /* queue.Empty is MPROC_ETIMEDOUT */
    printf("q.get(timeout=0.3) -> %s (queue.Empty)\n", mproc_errname(rc));
    mproc_queue_destroy(q);
    return rc != MPROC_ETIMEDOUT; /* a message here would be a bug */
}
