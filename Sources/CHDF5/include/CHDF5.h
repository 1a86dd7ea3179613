#ifndef EFFNET_CHDF5_H
#define EFFNET_CHDF5_H
// libhdf5, loaded only when an HDF5 file is read (docs/ARCHITECTURE.md, "C targets").
//
// Linking libhdf5 puts it and the ~35 libraries Debian builds it against (curl, gnutls, krb5,
// ldap, ssh2, ...) in every tool's DT_NEEDED: ~7 ms of dynamic loading on each start, even for a
// PyTorch or ONNX conversion that never touches HDF5. So nothing links it: the Swift code calls
// the `effnet_H5*` wrappers declared below, which jump through pointers that
// `effnet_hdf5_load` resolves with dlopen/dlsym on first use.
//
// The wrappers have their own names on purpose: the tools are linked with --export-dynamic, so a
// function named `H5Fopen` here would interpose on libhdf5's internal calls to itself.
//
// Types, enums and plain constants still come from the installed headers, and the loader checks
// every prototype in the list below against them at compile time. They are found here, not
// through pkg-config: SwiftPM adds a pkg-config package's Libs (-lhdf5) to every product that
// depends on it, even through a headers-only system-library target, which would put libhdf5
// back into every tool's DT_NEEDED (checked on Debian: ldd lists libhdf5_serial.so.103). So
// the known places are tried in turn (docs/ARCHITECTURE.md, "libhdf5's headers"); anywhere else,
// `swift build -Xcc -I<dir with hdf5.h>`. hdf5.h includes its siblings with quotes, so they are
// found beside it in every case. Absolute paths are spelled out because a macOS build passes the
// SDK as sysroot, and clang then looks for /usr/local/include inside the SDK, not on the disk.
#if __has_include(<hdf5/serial/hdf5.h>)  // Debian, Ubuntu: the serial build (libhdf5-dev)
#include <hdf5/serial/hdf5.h>
#include <hdf5/serial/hdf5_hl.h>
#elif __has_include(<hdf5.h>)  // on the include path: Fedora, Arch, Linux Homebrew, -Xcc -I
#include <hdf5.h>
#include <hdf5_hl.h>
#elif __has_include("/opt/homebrew/include/hdf5.h")  // Homebrew on Apple silicon (brew install hdf5)
#include "/opt/homebrew/include/hdf5.h"
#include "/opt/homebrew/include/hdf5_hl.h"
#elif __has_include("/usr/local/include/hdf5.h")  // Homebrew on Intel Macs
#include "/usr/local/include/hdf5.h"
#include "/usr/local/include/hdf5_hl.h"
#elif __has_include("/opt/local/include/hdf5.h")  // MacPorts
#include "/opt/local/include/hdf5.h"
#include "/opt/local/include/hdf5_hl.h"
// Debian's MPI builds (libhdf5-openmpi-dev, libhdf5-mpich-dev) include <mpi.h>, which their MPI
// package keeps off the default include path: usable once it is given (-Xcc -I<dir of mpi.h>).
// The loader then needs EFFNET_LIBHDF5_HL=libhdf5_openmpi_hl.so (or _mpich_); installing
// libhdf5-dev beside them is simpler, and its serial headers win above.
#elif __has_include(<hdf5/openmpi/hdf5.h>) && __has_include(<mpi.h>)
#include <hdf5/openmpi/hdf5.h>
#include <hdf5/openmpi/hdf5_hl.h>
#elif __has_include(<hdf5/mpich/hdf5.h>) && __has_include(<mpi.h>)
#include <hdf5/mpich/hdf5.h>
#include <hdf5/mpich/hdf5_hl.h>
#elif __has_include(<hdf5/openmpi/hdf5.h>) || __has_include(<hdf5/mpich/hdf5.h>)
#error "only Debian's MPI build of hdf5.h is installed, and it needs <mpi.h>: install libhdf5-dev (the serial headers), or build with -Xcc -I<directory of mpi.h> (e.g. /usr/lib/x86_64-linux-gnu/openmpi/include)"
#else
#error "hdf5.h not found: install libhdf5-dev (Debian, Ubuntu) or hdf5 (Homebrew), or build with -Xcc -I<directory of hdf5.h>"
#endif
#include <stddef.h>

// Every libhdf5 / libhdf5_hl function the readers call, once:
//   X(return type, name, (parameters), (arguments), value returned when libhdf5 is not loaded)
// The failure values are libhdf5's own (negative ids and statuses, the *_ERROR enum members), so
// a caller that checks results treats "not loaded" as a failed call.
// Versioned names (H5Lget_info is H5Lget_info2 from 1.12 on) are resolved to whatever symbol the
// installed headers map them to.
#define EFFNET_HDF5_FUNCTIONS(X) \
    /* library */ \
    X(herr_t, H5open, (void), (), -1) \
    X(herr_t, H5get_libversion, (unsigned *majnum, unsigned *minnum, unsigned *relnum), (majnum, minnum, relnum), -1) \
    X(herr_t, H5free_memory, (void *mem), (mem), -1) \
    /* error stack */ \
    X(herr_t, H5Eset_auto2, (hid_t estack_id, H5E_auto2_t func, void *client_data), (estack_id, func, client_data), -1) \
    X(herr_t, H5Eclear2, (hid_t err_stack), (err_stack), -1) \
    X(herr_t, H5Ewalk2, (hid_t err_stack, H5E_direction_t direction, H5E_walk2_t func, void *client_data), (err_stack, direction, func, client_data), -1) \
    X(ssize_t, H5Eget_msg, (hid_t msg_id, H5E_type_t *type, char *msg, size_t size), (msg_id, type, msg, size), -1) \
    /* files and property lists */ \
    X(hid_t, H5Fopen, (const char *filename, unsigned flags, hid_t fapl_id), (filename, flags, fapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Fclose, (hid_t file_id), (file_id), -1) \
    X(herr_t, H5Fget_filesize, (hid_t file_id, hsize_t *size), (file_id, size), -1) \
    X(hid_t, H5LTopen_file_image, (void *buf_ptr, size_t buf_size, unsigned flags), (buf_ptr, buf_size, flags), H5I_INVALID_HID) \
    X(hid_t, H5Pcreate, (hid_t cls_id), (cls_id), H5I_INVALID_HID) \
    X(herr_t, H5Pclose, (hid_t plist_id), (plist_id), -1) \
    X(herr_t, H5Pset_file_locking, (hid_t fapl_id, hbool_t use_file_locking, hbool_t ignore_when_disabled), (fapl_id, use_file_locking, ignore_when_disabled), -1) \
    X(int, H5Pget_external_count, (hid_t plist_id), (plist_id), -1) \
    X(H5D_layout_t, H5Pget_layout, (hid_t plist_id), (plist_id), H5D_LAYOUT_ERROR) \
    /* groups, links, objects */ \
    X(hid_t, H5Gopen2, (hid_t loc_id, const char *name, hid_t gapl_id), (loc_id, name, gapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Gclose, (hid_t group_id), (group_id), -1) \
    X(herr_t, H5Gget_info, (hid_t loc_id, H5G_info_t *ginfo), (loc_id, ginfo), -1) \
    X(htri_t, H5Lexists, (hid_t loc_id, const char *name, hid_t lapl_id), (loc_id, name, lapl_id), -1) \
    X(herr_t, H5Lget_info, (hid_t loc_id, const char *name, H5L_info_t *linfo, hid_t lapl_id), (loc_id, name, linfo, lapl_id), -1) \
    X(ssize_t, H5Lget_name_by_idx, (hid_t loc_id, const char *group_name, H5_index_t idx_type, H5_iter_order_t order, hsize_t n, char *name, size_t size, hid_t lapl_id), (loc_id, group_name, idx_type, order, n, name, size, lapl_id), -1) \
    X(hid_t, H5Oopen, (hid_t loc_id, const char *name, hid_t lapl_id), (loc_id, name, lapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Oclose, (hid_t object_id), (object_id), -1) \
    X(H5I_type_t, H5Iget_type, (hid_t id), (id), H5I_BADID) \
    /* datasets */ \
    X(hid_t, H5Dopen2, (hid_t loc_id, const char *name, hid_t dapl_id), (loc_id, name, dapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Dclose, (hid_t dset_id), (dset_id), -1) \
    X(hid_t, H5Dget_create_plist, (hid_t dset_id), (dset_id), H5I_INVALID_HID) \
    X(hid_t, H5Dget_space, (hid_t dset_id), (dset_id), H5I_INVALID_HID) \
    X(hid_t, H5Dget_type, (hid_t dset_id), (dset_id), H5I_INVALID_HID) \
    X(herr_t, H5Dread, (hid_t dset_id, hid_t mem_type_id, hid_t mem_space_id, hid_t file_space_id, hid_t dxpl_id, void *buf), (dset_id, mem_type_id, mem_space_id, file_space_id, dxpl_id, buf), -1) \
    /* attributes */ \
    X(htri_t, H5Aexists, (hid_t obj_id, const char *attr_name), (obj_id, attr_name), -1) \
    X(hid_t, H5Aopen, (hid_t obj_id, const char *attr_name, hid_t aapl_id), (obj_id, attr_name, aapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Aclose, (hid_t attr_id), (attr_id), -1) \
    X(hid_t, H5Aget_space, (hid_t attr_id), (attr_id), H5I_INVALID_HID) \
    X(hid_t, H5Aget_type, (hid_t attr_id), (attr_id), H5I_INVALID_HID) \
    X(hsize_t, H5Aget_storage_size, (hid_t attr_id), (attr_id), 0) \
    X(herr_t, H5Aiterate2, (hid_t loc_id, H5_index_t idx_type, H5_iter_order_t order, hsize_t *idx, H5A_operator2_t op, void *op_data), (loc_id, idx_type, order, idx, op, op_data), -1) \
    X(herr_t, H5Aread, (hid_t attr_id, hid_t type_id, void *buf), (attr_id, type_id, buf), -1) \
    /* dataspaces */ \
    X(herr_t, H5Sclose, (hid_t space_id), (space_id), -1) \
    X(H5S_class_t, H5Sget_simple_extent_type, (hid_t space_id), (space_id), H5S_NO_CLASS) \
    X(int, H5Sget_simple_extent_ndims, (hid_t space_id), (space_id), -1) \
    X(int, H5Sget_simple_extent_dims, (hid_t space_id, hsize_t dims[], hsize_t maxdims[]), (space_id, dims, maxdims), -1) \
    /* datatypes */ \
    X(herr_t, H5Tclose, (hid_t type_id), (type_id), -1) \
    X(hid_t, H5Tcopy, (hid_t type_id), (type_id), H5I_INVALID_HID) \
    X(H5T_class_t, H5Tget_class, (hid_t type_id), (type_id), H5T_NO_CLASS) \
    X(size_t, H5Tget_size, (hid_t type_id), (type_id), 0) \
    X(H5T_sign_t, H5Tget_sign, (hid_t type_id), (type_id), H5T_SGN_ERROR) \
    X(H5T_cset_t, H5Tget_cset, (hid_t type_id), (type_id), H5T_CSET_ERROR) \
    X(H5T_str_t, H5Tget_strpad, (hid_t type_id), (type_id), H5T_STR_ERROR) \
    X(htri_t, H5Tis_variable_str, (hid_t type_id), (type_id), -1) \
    X(herr_t, H5Tset_size, (hid_t type_id, size_t size), (type_id, size), -1) \
    X(herr_t, H5Tset_cset, (hid_t type_id, H5T_cset_t cset), (type_id, cset), -1) \
    X(herr_t, H5Tset_strpad, (hid_t type_id, H5T_str_t strpad), (type_id, strpad), -1) \
    /* writing (Keras export): a file built in memory with the core driver, then its image */ \
    X(herr_t, H5Pset_fapl_core, (hid_t fapl_id, size_t increment, hbool_t backing_store), (fapl_id, increment, backing_store), -1) \
    X(hid_t, H5Fcreate, (const char *filename, unsigned flags, hid_t fcpl_id, hid_t fapl_id), (filename, flags, fcpl_id, fapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Fflush, (hid_t object_id, H5F_scope_t scope), (object_id, scope), -1) \
    X(ssize_t, H5Fget_file_image, (hid_t file_id, void *buf_ptr, size_t buf_len), (file_id, buf_ptr, buf_len), -1) \
    X(hid_t, H5Gcreate2, (hid_t loc_id, const char *name, hid_t lcpl_id, hid_t gcpl_id, hid_t gapl_id), (loc_id, name, lcpl_id, gcpl_id, gapl_id), H5I_INVALID_HID) \
    X(hid_t, H5Dcreate2, (hid_t loc_id, const char *name, hid_t type_id, hid_t space_id, hid_t lcpl_id, hid_t dcpl_id, hid_t dapl_id), (loc_id, name, type_id, space_id, lcpl_id, dcpl_id, dapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Dwrite, (hid_t dset_id, hid_t mem_type_id, hid_t mem_space_id, hid_t file_space_id, hid_t dxpl_id, const void *buf), (dset_id, mem_type_id, mem_space_id, file_space_id, dxpl_id, buf), -1) \
    X(hid_t, H5Screate, (H5S_class_t type), (type), H5I_INVALID_HID) \
    X(hid_t, H5Screate_simple, (int rank, const hsize_t dims[], const hsize_t maxdims[]), (rank, dims, maxdims), H5I_INVALID_HID) \
    X(hid_t, H5Acreate2, (hid_t loc_id, const char *attr_name, hid_t type_id, hid_t space_id, hid_t acpl_id, hid_t aapl_id), (loc_id, attr_name, type_id, space_id, acpl_id, aapl_id), H5I_INVALID_HID) \
    X(herr_t, H5Awrite, (hid_t attr_id, hid_t type_id, const void *buf), (attr_id, type_id, buf), -1)

// The global ids behind H5T_NATIVE_FLOAT, H5P_FILE_ACCESS, ...: valid after H5open, which the
// loader calls.
#define EFFNET_HDF5_GLOBALS(X) \
    X(H5T_NATIVE_FLOAT_g) \
    X(H5T_NATIVE_DOUBLE_g) \
    X(H5T_NATIVE_INT64_g) \
    X(H5T_NATIVE_INT32_g) \
    X(H5T_C_S1_g) \
    X(H5P_CLS_FILE_ACCESS_ID_g) \
    X(H5T_IEEE_F32LE_g) \
    X(H5T_IEEE_F64LE_g) \
    X(H5T_STD_I64LE_g)

#define EFFNET_HDF5_DECLARE_WRAPPER(ret, name, params, args, fail) ret effnet_##name params;
EFFNET_HDF5_FUNCTIONS(EFFNET_HDF5_DECLARE_WRAPPER)
#undef EFFNET_HDF5_DECLARE_WRAPPER

/// Loads libhdf5_hl (and through it libhdf5) once per process, thread-safely, and resolves every
/// function and global above. Returns 0 when the library is usable; otherwise -1 with a one-line
/// reason in `err` (what was tried, dlerror's text, the missing symbol or the version mismatch).
/// Every call after the first returns the first call's outcome.
///
/// Candidates, in order: the path in the environment variable EFFNET_LIBHDF5_HL when set and not
/// empty (then nothing else is tried: an explicit choice that fails must not fall back
/// silently; a deployment and test hook), else the development names (libhdf5_serial_hl.so,
/// libhdf5_hl.so), then the runtime sonames of the headers' version (Linux), or the usual
/// Homebrew / MacPorts locations of libhdf5_hl.dylib (macOS). The first candidate dlopen accepts is
/// the library: a missing symbol or a major.minor version other than the headers' is an error,
/// not a reason to try the next one.
int effnet_hdf5_load(char *err, size_t errlen);

/// The file libhdf5 was loaded from (dladdr of H5open), or NULL when it is not loaded.
const char *effnet_hdf5_library_path(void);

// H5T_NATIVE_* and H5P_* class ids are macros over library globals that Swift cannot import;
// these getters read the loaded globals (H5I_INVALID_HID before a successful load).
hid_t effnet_h5t_native_float(void);
hid_t effnet_h5t_native_double(void);
hid_t effnet_h5t_native_int64(void);
hid_t effnet_h5t_native_int32(void);
hid_t effnet_h5t_c_s1(void);
hid_t effnet_h5p_file_access(void);
// File (on-disk) types of written datasets: little-endian, as h5py writes numpy's <f4, <f8, <i8.
hid_t effnet_h5t_ieee_f32le(void);
hid_t effnet_h5t_ieee_f64le(void);
hid_t effnet_h5t_std_i64le(void);
// H5F_ACC_RDONLY is spelled with H5check()/H5open() calls in the headers; this getter is not.
unsigned effnet_h5f_acc_rdonly(void);
// H5F_ACC_TRUNC, spelled like H5F_ACC_RDONLY.
unsigned effnet_h5f_acc_trunc(void);

// Constants spelled as casts in the headers (no library symbol involved).
static inline hid_t effnet_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t effnet_h5s_all(void) { return H5S_ALL; }
static inline size_t effnet_h5t_variable(void) { return H5T_VARIABLE; }
static inline unsigned effnet_h5lt_file_image_dont_copy(void) { return H5LT_FILE_IMAGE_DONT_COPY; }
static inline unsigned effnet_h5lt_file_image_dont_release(void) { return H5LT_FILE_IMAGE_DONT_RELEASE; }

/// H5Lget_info and H5L_info_t are versioned macros (1.10 vs 1.12+); C resolves them, Swift
/// cannot. 1 for a hard link, 0 for a soft or external one, negative on failure.
htri_t effnet_h5l_is_hard(hid_t loc, const char *name);

#endif
