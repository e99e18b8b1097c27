# Installation: the plugin, libgenrpc and its headers, the protobuf-c code of
# the IDL, and what find_package(genrpc) / pkg-config need (docs/install.md).
#
#   bin/protoc-gen-genrpc                                         [tools]
#   bin/genrpc                              (tools/CMakeLists.txt) [tools]
#   lib/libgenrpc.so.1*                                           [runtime]
#   lib/libgenrpc.so, lib/libgenrpc.a, lib/libgenrpc_idl_protos.a,
#   lib/libgenrpc_embedded.a                                      [dev]
#   include/genrpc/*.h                      runtime headers       [dev]
#   include/genrpc/{options,reflection,health}.proto (idl/)       [dev]
#   include/genrpc/proto/{genrpc/options,google/protobuf/descriptor}.pb-c.h
#   lib/cmake/genrpc/{genrpcConfig,genrpcConfigVersion,genrpcTargets,
#                     genrpcGenerate,FindLibev}.cmake             [dev]
#   lib/pkgconfig/genrpc.pc, genrpc-embedded.pc                   [dev]
#
# [component]: the Debian package each goes to (cmake/package.cmake).
# The runtime's CMakeLists installs the libraries themselves.
include(CMakePackageConfigHelpers)

set(GENRPC_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/genrpc)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/genrpc
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
        FILES_MATCHING PATTERN "*.h" PATTERN "cluster.h" EXCLUDE)
if(GENRPC_HAVE_CLUSTER) # genrpc/cluster.h only where its functions are built
  install(FILES ${PROJECT_SOURCE_DIR}/runtime/include/genrpc/cluster.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/genrpc COMPONENT dev)
endif()

# libgenrpc links genrpc_idl_protos PUBLIC, so it is part of the export.
install(TARGETS genrpc_idl_protos EXPORT genrpcTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)

install(EXPORT genrpcTargets
        NAMESPACE genrpc::
        DESTINATION ${GENRPC_CMAKE_INSTALL_DIR} COMPONENT dev)

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/genrpcConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/genrpcConfig.cmake
  INSTALL_DESTINATION ${GENRPC_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/genrpcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/genrpcConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/genrpcConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/genrpcGenerate.cmake
  ${CMAKE_CURRENT_LIST_DIR}/FindLibev.cmake
  DESTINATION ${GENRPC_CMAKE_INSTALL_DIR} COMPONENT dev)

# pkg-config files. prefix is ${pcfiledir} followed by one ".." per level
# of <libdir>/pkgconfig, so that an installed tree works wherever it is
# (cmake --install --prefix P, a copied tree). Installed to exactly /usr
# (the Debian packages) they say prefix=/usr instead: pkg-config then drops
# -I/usr/include, which would break C++'s #include_next. The choice is made
# at install time, when the prefix is known.
set(GENRPC_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
set(pc_files genrpc)
set(pc_in_genrpc ${CMAKE_CURRENT_LIST_DIR}/genrpc.pc.in)
# libgenrpc.a with etcd clusters also needs libcurl and jansson: named as
# libraries, not as pkg-config packages (libcurl.pc's own static list names
# libraries Debian ships only shared: the program links libcurl.so)
set(GENRPC_PC_CLUSTER_LIBS "")
if(GENRPC_HAVE_CLUSTER)
  set(GENRPC_PC_CLUSTER_LIBS " -lcurl -ljansson")
endif()
if(GENRPC_HAVE_EMBEDDED)
  list(APPEND pc_files genrpc-embedded)
  set(pc_in_genrpc-embedded ${PROJECT_SOURCE_DIR}/runtime/embedded/genrpc-embedded.pc.in)
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  message(FATAL_ERROR "genrpc: CMAKE_INSTALL_LIBDIR must be relative to the prefix for the "
                      "relocatable pkg-config files (it is ${CMAKE_INSTALL_LIBDIR})")
endif()
string(REGEX REPLACE "[^/]+" ".." pc_up "${GENRPC_PC_DIR}")
foreach(kind reloc usr)
  if(kind STREQUAL "reloc")
    set(GENRPC_PC_PREFIX "\${pcfiledir}/${pc_up}")
  else()
    set(GENRPC_PC_PREFIX "/usr")
  endif()
  foreach(var LIBDIR INCLUDEDIR BINDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${var}}")
      set(GENRPC_PC_${var} "${CMAKE_INSTALL_${var}}")
    else()
      set(GENRPC_PC_${var} "\${prefix}/${CMAKE_INSTALL_${var}}")
    endif()
  endforeach()
  foreach(pc IN LISTS pc_files)
    configure_file(${pc_in_${pc}} ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig-${kind}/${pc}.pc @ONLY)
  endforeach()
endforeach()
foreach(pc IN LISTS pc_files)
  install(CODE "
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(_genrpc_pc_kind usr)
    else()
      set(_genrpc_pc_kind reloc)
    endif()
    file(INSTALL \"${CMAKE_CURRENT_BINARY_DIR}/pkgconfig-\${_genrpc_pc_kind}/${pc}.pc\"
         DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${GENRPC_PC_DIR}\")"
    COMPONENT dev)
endforeach()

include(cmake/package.cmake)
