/* Seed 003 §1.5, 进程间通信1 (a full Queue(3)): three messages fill it; a put with a timeout
 * and a put_nowait both fail (Python's queue.Full), then the messages are taken out with
 * get_nowait while the queue is not empty, with its qsize() before each. The seed's
 * put timeout of 2 s is 0.2 s here. Messages are packs of a string: the list, dict and set
 * travel as the text Python prints for them. Last, the seed's notes 3 and 4: full() and empty(),
 * which it describes without printing, as they were when full and at the end. */
#include "example.h"

/* q.qsize() (-1 if the call fails). */
static int qsize_of(mproc_queue *q)
{
    int64_t n = -1;
    mproc_queue_qsize(q, &n);
    return (int)n;
}

int main(int argc, char **argv)
{
    const int maxsize = 3; /* the seed's q._maxsize */
    mproc_queue *q;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_queue_create(&q, maxsize) != 0) /* 只能 put 3条消息 */
        return 1;
    const char *msgs[] = {"[1, 2, 3, 4]", "{'a': 1, 'b': 2}", "{1, 2, 3, 4}"};
    for (int i = 0; i < 3; i++) /* a list, a dict, a set */
        if (mproc_queue_put_pack(q, MPROC_ARGS(msgs[i]), MPROC_FOREVER) != 0)
            return 1;
    const char *full_when_full = mproc_queue_full(q) == 1 ? "True" : "False";

    /* 不加timeout，就一直阻塞，等消息队列有空位才能发出去; the timeout: except Full */
    if (mproc_queue_put_pack(q, MPROC_ARGS("再加条消息呗"), 200) == MPROC_ETIMEDOUT)
        printf("消息队列已满，队列数%d，当前存在%d条消息\n", maxsize, qsize_of(q));
    /* 非阻塞，不能put就抛异常: q.put_nowait(obj), q.put(obj, False) */
    if (mproc_queue_put_pack(q, MPROC_ARGS("再加条消息呗"), 0) == MPROC_EFULL)
        printf("消息队列已满，队列数%d，当前存在%d条消息\n", maxsize, qsize_of(q));

    while (!mproc_queue_empty(q)) {
        int qsize = qsize_of(q); /* Python evaluates qsize() before get_nowait() */
        mproc_bytes msg;
        const char *text;
        if (mproc_queue_get(q, 0, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
            return 1;
        printf("队列数：%d，当前存在%d条消息 内容%s\n", maxsize, qsize, text);
        mproc_bytes_free(&msg);
    }
    printf("队列数：%d，当前存在：%d条消息\n", maxsize, qsize_of(q));
    printf("q.full()：%s（3条消息时），q.empty()：%s（取完后）\n", full_when_full,
           mproc_queue_empty(q) == 1 ? "True" : "False");
    mproc_queue_destroy(q);
    return 0;
}
