/* readers.h — reading data sets from files: IDX (the MNIST family, gzip-compressed or not),
 * NumPy .npy (read and write) and CSV of numbers. Used by lua/volt/data/readers.lua.
 *
 * Every function names the file and the problem in its error message ("read_idx:
 * 'train.gz': truncated: 47040000 data bytes expected, 1024 found"); a malformed, truncated or
 * hostile file (huge dims, sizes that do not match the data, bad header text) is an error
 * (VT_ERR_FORMAT; VT_ERR_IO when the file system fails; VT_ERR_OOM when memory runs out), never
 * a crash. Results are new contiguous CPU tensors the caller owns.
 *
 * ==== IDX (http://yann.lecun.com/exdb/mnist/) ====================================================
 *   bytes 0-1   0x00 0x00
 *   byte  2     type code: 0x08 u8 -> U8, 0x09 i8 -> I32, 0x0B i16 -> I32, 0x0C i32 -> I32,
 *               0x0D f32 -> F32, 0x0E f64 -> F64 (Volt has no i8/i16: they widen to i32)
 *   byte  3     ndim, 0..8
 *   then        ndim sizes, u32 big-endian; then prod(sizes) elements, big-endian, row-major.
 *   The file ends exactly after the data (trailing bytes are an error). A gzip-compressed file
 *   (the usual *.gz) is read through zlib; any other file is read as it is.
 *
 * ==== NPY (https://numpy.org/neps/nep-0001-npy-format.html) =====================================
 *   "\x93NUMPY", major (1, 2 or 3), minor, header length (u16 LE for 1.x, u32 LE for 2.x/3.x),
 *   then the header: a Python dict literal with exactly the keys 'descr', 'fortran_order' and
 *   'shape' (padded with spaces, ending in '\n'), then the data, which must end the file.
 *   descr: '<f4' F32, '<f8' F64, '<f2' F16, '<i4' I32, '<i8' I64, '|u1' U8, '|b1' BOOL
 *   ('<' may also be '=' and, for one-byte types, '<' or '='). BF16 has no NumPy dtype: reading
 *   never gives one, writing one is an error (convert to F32 first). Fortran order, big-endian
 *   ('>f4') and other dtypes are errors naming what was found. Bool bytes other than 0/1 read as 1.
 *   The writer produces version 1.0 with the header padded so the data starts at a multiple of 64.
 *
 * ==== CSV ========================================================================================
 *   Lines end in "\n" or "\r\n"; empty lines (only spaces) are skipped; fields are separated by
 *   one delimiter character and may be surrounded by spaces/tabs; every field is a number as
 *   strtod reads it (including "nan", "inf"). Every row must have the same number of fields.
 *
 *   vt_tensor* images;                                    // (60000, 28, 28) u8
 *   if (vt_read_idx("train-images-idx3-ubyte.gz", &images) != VT_OK) puts(vt_last_error());
 */
#pragma once
#include <stdint.h>
#include "volt/status.h"
#include "volt/dtype.h"
#include "volt/tensor.h"

/* Reads an IDX file (gzip or plain). [out] t: (sizes...) of the dtype its type code maps to. */
vt_status vt_read_idx(const char* path, vt_tensor** t);

/* Reads a .npy file (versions 1.0, 2.0, 3.0; C order). [out] t: (shape...) */
vt_status vt_read_npy(const char* path, vt_tensor** t);

/* Writes t (CPU, any strides; every dtype but BF16) as a version 1.0 .npy file. */
vt_status vt_write_npy(const char* path, const vt_tensor* t);

/* Reads a CSV file of numbers. delimiter: one character (not a digit, letter, sign, '.', space
   or line break); skip_rows: leading lines ignored (a header); dt: the result's dtype (values
   are parsed as double and converted). [out] t: (rows, cols); (0, 0) for a file with no rows. */
vt_status vt_read_csv(const char* path, char delimiter, int64_t skip_rows, vt_dtype dt,
                      vt_tensor** t);
