/* mproc — Python's multiprocessing, in C. The umbrella header. */
#ifndef MPROC_H
#define MPROC_H

#include "mproc/common.h"
#include "mproc/conn.h"
#include "mproc/error.h"
#include "mproc/futures.h"
#include "mproc/log.h"
#include "mproc/manager.h"
#include "mproc/pack.h"
#include "mproc/pool.h"
#include "mproc/process.h"
#include "mproc/queue.h"
#include "mproc/shared.h"
#include "mproc/subprocess.h"
#include "mproc/sync.h"
#include "mproc/task.h"
#include "mproc/values.h"

#endif
