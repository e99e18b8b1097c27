# genrpc_generate(TARGET <lib> PROTOS <file.proto>...
#                 [IMPORT_DIRS <dir>...] [PLUGIN_OPTIONS <key=value>...]
#                 [EMBEDDED])
#
# Needs CMake 3.20 or later.
#
# Runs protoc once over PROTOS with protobuf-c (--c_out) and genrpc
# (--genrpc_out) and builds the generated <name>.pb-c.c and <name>.genrpc.c
# into the STATIC library <lib>, linked PUBLIC to the genrpc runtime. The
# output directory is <lib>'s PUBLIC include directory, so users write
# #include "kv.genrpc.h" (or "dir/kv.genrpc.h" for a proto imported as
# "dir/kv.proto").
#
#   PROTOS          .proto files; relative paths are taken from
#                   CMAKE_CURRENT_SOURCE_DIR.
#   IMPORT_DIRS     protoc -I directories, in order; relative paths are taken
#                   from CMAKE_CURRENT_SOURCE_DIR. A proto's import name
#                   ("dir/kv.proto") is its path relative to the first of
#                   them containing it. Default: each proto's own directory.
#                   genrpc's own directory (for genrpc/options.proto) is
#                   always added last.
#   PLUGIN_OPTIONS  generator parameters, e.g. client=false (docs/idl.md).
#   EMBEDDED        embedded mode (docs/embedded.md): nanopb (--nanopb_out)
#                   instead of protobuf-c, and the genrpc plugin with
#                   embedded=true: <name>.pb.c and <name>.genrpc_emb.c, linked
#                   PUBLIC to the embedded client (genrpc_embedded) and nanopb.
#                   Field sizes come from <name>.options beside the proto (or
#                   in an import dir), read by both generators.
#
# Works in genrpc's own tree (GENRPC_IN_TREE) and after find_package(genrpc),
# where the library is linked shared (genrpc::genrpc), or static
# (genrpc::genrpc_static) when GENRPC_USE_STATIC_LIBS is true.

# Needs CMake 3.20 or later (cmake_path).
include_guard(GLOBAL)
if(CMAKE_VERSION VERSION_LESS 3.20)
  message(FATAL_ERROR "genrpc_generate needs CMake 3.20 or later (this is ${CMAKE_VERSION})")
endif()

# Where the plugin, the runtime and genrpc/options.proto are, fixed when
# this file is included and kept in global properties so that
# genrpc_generate() works from any directory.
if(GENRPC_IN_TREE)
  set_property(GLOBAL PROPERTY GENRPC_GEN_PLUGIN $<TARGET_FILE:protoc-gen-genrpc>)
  set_property(GLOBAL PROPERTY GENRPC_GEN_PLUGIN_DEP protoc-gen-genrpc)
  set_property(GLOBAL PROPERTY GENRPC_GEN_RUNTIME genrpc)
  set_property(GLOBAL PROPERTY GENRPC_GEN_OPTIONS_DIR ${GENRPC_IDL_DIR})
  set_property(GLOBAL PROPERTY GENRPC_GEN_EMB_RUNTIME genrpc_embedded)
else()
  # GENRPC_PROTO_IMPORT_DIR is set by genrpcConfig.cmake.
  set_property(GLOBAL PROPERTY GENRPC_GEN_PLUGIN $<TARGET_FILE:genrpc::protoc-gen-genrpc>)
  set_property(GLOBAL PROPERTY GENRPC_GEN_PLUGIN_DEP $<TARGET_FILE:genrpc::protoc-gen-genrpc>)
  set_property(GLOBAL PROPERTY GENRPC_GEN_RUNTIME genrpc::genrpc)
  set_property(GLOBAL PROPERTY GENRPC_GEN_OPTIONS_DIR ${GENRPC_PROTO_IMPORT_DIR})
  set_property(GLOBAL PROPERTY GENRPC_GEN_EMB_RUNTIME genrpc::genrpc_embedded)
endif()
find_program(GENRPC_PROTOC protoc REQUIRED)
find_program(GENRPC_PROTOC_GEN_C protoc-gen-c REQUIRED)

# Sets <out_var> to the absolute form of each path (relative ones are
# resolved against CMAKE_CURRENT_SOURCE_DIR).
function(_genrpc_absolute out_var)
  set(result)
  foreach(path IN LISTS ARGN)
    cmake_path(ABSOLUTE_PATH path BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
               NORMALIZE OUTPUT_VARIABLE abs)
    list(APPEND result ${abs})
  endforeach()
  set(${out_var} ${result} PARENT_SCOPE)
endfunction()

# Sets <out_var> to the proto's import name: its path relative to the first
# import dir containing it.
function(_genrpc_import_name out_var proto)
  foreach(dir IN LISTS ARGN)
    cmake_path(IS_PREFIX dir ${proto} NORMALIZE is_inside)
    if(is_inside)
      cmake_path(RELATIVE_PATH proto BASE_DIRECTORY ${dir} OUTPUT_VARIABLE rel)
      set(${out_var} ${rel} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "genrpc_generate: ${proto} is in none of the IMPORT_DIRS (${ARGN})")
endfunction()

function(genrpc_generate)
  cmake_parse_arguments(PARSE_ARGV 0 arg "EMBEDDED" "TARGET" "PROTOS;IMPORT_DIRS;PLUGIN_OPTIONS")
  if(NOT arg_TARGET OR NOT arg_PROTOS)
    message(FATAL_ERROR "genrpc_generate: TARGET and PROTOS are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "genrpc_generate: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()

  get_property(plugin GLOBAL PROPERTY GENRPC_GEN_PLUGIN)
  get_property(plugin_dep GLOBAL PROPERTY GENRPC_GEN_PLUGIN_DEP)
  get_property(runtime GLOBAL PROPERTY GENRPC_GEN_RUNTIME)
  get_property(options_dir GLOBAL PROPERTY GENRPC_GEN_OPTIONS_DIR)
  if(NOT GENRPC_IN_TREE AND GENRPC_USE_STATIC_LIBS)
    set(runtime genrpc::genrpc_static)
  endif()

  _genrpc_absolute(protos ${arg_PROTOS})
  if(arg_IMPORT_DIRS)
    _genrpc_absolute(import_dirs ${arg_IMPORT_DIRS})
  else()
    set(import_dirs)
    foreach(proto IN LISTS protos)
      cmake_path(GET proto PARENT_PATH dir)
      list(APPEND import_dirs ${dir})
    endforeach()
    list(REMOVE_DUPLICATES import_dirs)
  endif()

  if(arg_EMBEDDED)
    _genrpc_generate_embedded()
    return()
  endif()

  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${arg_TARGET}_genrpc)
  set(sources)
  set(headers)
  foreach(proto IN LISTS protos)
    _genrpc_import_name(rel ${proto} ${import_dirs})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    list(APPEND sources ${out_dir}/${base}.pb-c.c ${out_dir}/${base}.genrpc.c)
    list(APPEND headers ${out_dir}/${base}.pb-c.h ${out_dir}/${base}.genrpc.h)
  endforeach()

  set(include_flags)
  foreach(dir IN LISTS import_dirs options_dir)
    list(APPEND include_flags -I${dir})
  endforeach()
  set(genrpc_opt)
  if(arg_PLUGIN_OPTIONS)
    list(JOIN arg_PLUGIN_OPTIONS "," joined)
    set(genrpc_opt --genrpc_opt=${joined})
  endif()

  add_custom_command(
    OUTPUT ${sources} ${headers}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${GENRPC_PROTOC}
            --plugin=protoc-gen-c=${GENRPC_PROTOC_GEN_C}
            --plugin=protoc-gen-genrpc=${plugin}
            ${include_flags}
            --c_out=${out_dir}
            --genrpc_out=${out_dir}
            ${genrpc_opt}
            ${protos}
    DEPENDS ${protos} ${plugin_dep} ${options_dir}/genrpc/options.proto
    COMMENT "genrpc: generating C for ${arg_PROTOS}"
    VERBATIM)

  add_library(${arg_TARGET} STATIC ${sources} ${headers})
  target_include_directories(${arg_TARGET} PUBLIC $<BUILD_INTERFACE:${out_dir}>)
  target_link_libraries(${arg_TARGET} PUBLIC ${runtime})
  target_compile_options(${arg_TARGET} PRIVATE -Wall -Wextra)
endfunction()

# genrpc_generate(... EMBEDDED): nanopb messages + embedded stubs. A macro
# so that it sees genrpc_generate's variables.
macro(_genrpc_generate_embedded)
  if(NOT GENRPC_PROTOC_GEN_NANOPB)
    find_program(GENRPC_PROTOC_GEN_NANOPB protoc-gen-nanopb REQUIRED)
  endif()
  if(NOT GENRPC_NANOPB_INCLUDE_DIR)
    find_path(GENRPC_NANOPB_INCLUDE_DIR pb_encode.h PATH_SUFFIXES nanopb REQUIRED)
  endif()
  if(NOT GENRPC_NANOPB_LIBRARY)
    find_library(GENRPC_NANOPB_LIBRARY NAMES protobuf-nanopb nanopb REQUIRED)
  endif()
  get_property(emb_runtime GLOBAL PROPERTY GENRPC_GEN_EMB_RUNTIME)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${arg_TARGET}_genrpc_emb)
  set(sources)
  set(headers)
  set(option_files)
  foreach(proto IN LISTS protos)
    _genrpc_import_name(rel ${proto} ${import_dirs})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    list(APPEND sources ${out_dir}/${base}.pb.c ${out_dir}/${base}.genrpc_emb.c)
    list(APPEND headers ${out_dir}/${base}.pb.h ${out_dir}/${base}.genrpc_emb.h)
    foreach(dir IN LISTS import_dirs)
      if(EXISTS ${dir}/${base}.options)
        list(APPEND option_files ${dir}/${base}.options)
      endif()
    endforeach()
  endforeach()
  set(include_flags)
  foreach(dir IN LISTS import_dirs options_dir)
    list(APPEND include_flags -I${dir})
  endforeach()
  # Both generators look for <name>.options in every import dir.
  set(emb_opts embedded=true)
  set(nanopb_opts)
  foreach(dir IN LISTS import_dirs)
    list(APPEND emb_opts nanopb_options_dir=${dir})
    list(APPEND nanopb_opts --nanopb_opt=-I${dir})
  endforeach()
  list(APPEND emb_opts ${arg_PLUGIN_OPTIONS})
  list(JOIN emb_opts "," joined)
  add_custom_command(
    OUTPUT ${sources} ${headers}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${GENRPC_PROTOC}
            --plugin=protoc-gen-nanopb=${GENRPC_PROTOC_GEN_NANOPB}
            --plugin=protoc-gen-genrpc=${plugin}
            ${include_flags}
            ${nanopb_opts} "--nanopb_opt=-xgenrpc/options.proto"
            --nanopb_out=${out_dir}
            --genrpc_out=${out_dir}
            --genrpc_opt=${joined}
            ${protos}
    DEPENDS ${protos} ${option_files} ${plugin_dep} ${options_dir}/genrpc/options.proto
    COMMENT "genrpc: generating embedded C (nanopb) for ${arg_PROTOS}"
    VERBATIM)
  add_library(${arg_TARGET} STATIC ${sources} ${headers})
  target_include_directories(${arg_TARGET} PUBLIC $<BUILD_INTERFACE:${out_dir}>
                             ${GENRPC_NANOPB_INCLUDE_DIR})
  target_link_libraries(${arg_TARGET} PUBLIC ${emb_runtime} ${GENRPC_NANOPB_LIBRARY})
  target_compile_options(${arg_TARGET} PRIVATE -Wall -Wextra)
endmacro()
