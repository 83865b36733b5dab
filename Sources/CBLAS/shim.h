// OpenBLAS's CBLAS interface (Debian: libopenblas-dev puts cblas.h on the default include path).
#include <cblas.h>
// OpenBLAS extensions used to control its thread pool.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
