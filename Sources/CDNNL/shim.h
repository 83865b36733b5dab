// oneDNN's C API (Debian: libdnnl-dev puts dnnl.h on the default include path; it ships no
// pkg-config file, hence this system-library target).
#include <dnnl.h>
