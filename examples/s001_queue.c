/* Seed 001 §8, 进程间通信(IPC机制) (a Queue(3), first in first out): three messages fill the
 * basket, three gets take them out in order. The seed's last q.get() on the empty queue
 * blocks for ever (队列为空，等待加入，也会阻塞); here it waits 0.3 s and reports the
 * timeout, Python's queue.Empty, so that the program ends. Messages are bytes: the dict
 * {'a': 2} travels as the text Python prints for it. */
#include "example.h"

static void put(mproc_queue *q, const char *s)
{
    if (mproc_queue_put(q, s, strlen(s), MPROC_FOREVER) != 0)
        exit(1);
}

static void print_get(mproc_queue *q)
{
    mproc_bytes msg;
    if (mproc_queue_get(q, MPROC_FOREVER, &msg) != 0)
        exit(1);
    printf("%.*s\n", (int)msg.len, (const char *)msg.data);
    mproc_bytes_free(&msg);
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_queue *q; /* q=Queue(3) */
    if (mproc_queue_create(&q, 3) != 0)
        return 1;
    /* 添加 */
    put(q, "a");
    put(q, "b");
    put(q, "{'a': 2}");
    printf("篮子满了\n");
    /* 队列满了，相当于锁了: a fourth put would block here (the seed leaves it commented out)
     * put(q, "{'a': 2}"); */

    /* 提取 */
    print_get(q);
    print_get(q);
    print_get(q);
    /* 队列为空，等待加入，也会阻塞，相当于锁了 */
    printf("队列为空\n");
    mproc_bytes msg;
    int rc = mproc_queue_get(q, 300, &msg);
    if (rc == 0) {
        printf("%.*s\n", (int)msg.len, (const char *)msg.data);
        mproc_bytes_free(&msg);
    } else {
        printf("q.get(timeout=0.3) -> %s (queue.Empty)\n", mproc_errname(rc));
    }
    mproc_queue_destroy(q);
    return 0;
}
