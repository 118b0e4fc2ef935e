# Generates lua/volt/cdefs.lua from Volt's public headers: every line that is not a preprocessor
# directive is kept, in the order the headers are listed (each depends only on earlier ones).
# Public headers hold plain declarations (no macros), so what remains is what ffi.cdef parses.
# Usage: cmake -DOUT=file.lua "-DHEADERS=a.h;b.h" -P gen_cdefs.cmake
set(body "")
foreach(h ${HEADERS})
  file(READ ${h} content)
  get_filename_component(name ${h} NAME)
  string(REGEX REPLACE "(^|\n)[ \t]*#[^\n]*" "\\1" content "${content}")
  string(APPEND body "/* ---- ${name} ---- */\n${content}")
endforeach()
file(WRITE ${OUT}.tmp "-- Generated at build time from runtime/include/volt/*.h by cmake/gen_cdefs.cmake. Do not edit.\nreturn [==[\n${body}]==]\n")
file(RENAME ${OUT}.tmp ${OUT})
