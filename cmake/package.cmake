# Debian packages: `cpack -G DEB` in a build directory (docs/install.md).
#
#   libgenrpc1     [runtime]  libgenrpc.so.1 (the SONAME; docs/install.md, "ABI")
#   libgenrpc-dev  [dev]      headers, libgenrpc.so, libgenrpc.a, the IDL's
#                             protobuf-c code, the embedded client (static),
#                             genrpc.pc, genrpc-embedded.pc, the CMake package
#   genrpc-tools   [tools]    protoc-gen-genrpc, the genrpc command (docs/cli.md;
#                             libgenrpc linked statically)
#
# Installed under /usr. Dependencies are the Debian 12 package names,
# declared here rather than found by dpkg-shlibdeps (dpkg-dev is not needed
# to build the packages). The -dev package needs the tools one: the CMake
# package exports genrpc::protoc-gen-genrpc and checks that it exists.
set(CPACK_PACKAGE_NAME genrpc)
set(CPACK_PACKAGE_VENDOR "genrpc")
set(CPACK_PACKAGE_CONTACT "genrpc maintainers <genrpc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "RPC framework for C modelled on Erlang's gen_rpc")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Install with CMAKE_INSTALL_PREFIX=/usr into a staging DESTDIR, so that
# install(CODE) sees the real prefix (the pkg-config files, install.cmake).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libgenrpc1)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "genrpc runtime library\nlibgenrpc.so.1: nodes, call, cast, async calls, multicall, TLS.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libev4, libssl3, libprotobuf-c1")
# etcd clusters (GENRPC_CLUSTER, found at configure time): libcurl, jansson
set(GENRPC_DEB_CLUSTER_DEV "")
if(GENRPC_HAVE_CLUSTER)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
      "${CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS}, libcurl4, libjansson4")
  set(GENRPC_DEB_CLUSTER_DEV ", libcurl4-openssl-dev | libcurl-dev, libjansson-dev")
endif()
# shlibs file and the ldconfig trigger
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# libgenrpc1 (>= version): any later release with SONAME 1 keeps the ABI (docs/install.md)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME genrpc-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION devel)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "genrpc code generator and command line\nprotoc-gen-genrpc, the protoc plugin writing <file>.genrpc.{h,c}; genrpc, the command that pings, lists, describes, calls and health-checks running nodes.")
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libstdc++6, libprotobuf-c1, libprotobuf32, libjansson4, libev4, libssl3, protobuf-compiler, protobuf-c-compiler, libprotobuf-dev")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libgenrpc-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "genrpc development files\nHeaders, shared and static libraries, pkg-config files and the CMake package (find_package(genrpc), genrpc_generate).")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libgenrpc1 (= ${PROJECT_VERSION}), genrpc-tools (= ${PROJECT_VERSION}), libprotobuf-c-dev, libev-dev, libssl-dev, libmbedtls-dev, pkg-config${GENRPC_DEB_CLUSTER_DEV}")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "cmake (>= 3.20), nanopb, libnanopb-dev")

include(CPack)
