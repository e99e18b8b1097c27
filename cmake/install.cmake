# Installation: the plugin, libgenrpc and its headers, the protobuf-c code of
# the IDL, and what find_package(genrpc) / pkg-config need.
#
#   bin/protoc-gen-genrpc
#   include/genrpc/*.h                      runtime headers
#   include/genrpc/options.proto            (idl/CMakeLists.txt)
#   include/genrpc/proto/{genrpc/options,google/protobuf/descriptor}.pb-c.h
#   lib/libgenrpc*, lib/libgenrpc_idl_protos.a
#   lib/cmake/genrpc/{genrpcConfig,genrpcConfigVersion,genrpcTargets,
#                     genrpcGenerate,FindLibev}.cmake
#   lib/pkgconfig/genrpc.pc
#
# The runtime's CMakeLists installs the library itself:
#   install(TARGETS genrpc EXPORT genrpcTargets ...)
include(CMakePackageConfigHelpers)

set(GENRPC_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/genrpc)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/genrpc
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# libgenrpc links genrpc_idl_protos PUBLIC, so it is part of the export.
install(TARGETS genrpc_idl_protos EXPORT genrpcTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

install(EXPORT genrpcTargets
        NAMESPACE genrpc::
        DESTINATION ${GENRPC_CMAKE_INSTALL_DIR})

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
  DESTINATION ${GENRPC_CMAKE_INSTALL_DIR})

configure_file(${CMAKE_CURRENT_LIST_DIR}/genrpc.pc.in ${CMAKE_CURRENT_BINARY_DIR}/genrpc.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/genrpc.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
