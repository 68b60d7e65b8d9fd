# TESSERA_STATIC: link LLVM and MLIR statically, so the tools and GPU tests
# travel to the GPU machine (which has no LLVM) as single binaries that need
# only glibc.  Debian's static MLIR targets name the shared libLLVM in their
# link interface and LLVMSupport names shared zlib/zstd/libz3: rewrite both.
# The shared LLVM is replaced by the static components MLIR needs, so that
# they follow every MLIR library on the link line whatever the order.
llvm_map_components_to_libnames(tessera_static_llvm
  NVPTXCodeGen NVPTXDesc NVPTXInfo Passes Core Support Target MC IRReader TransformUtils Linker)
get_property(tessera_mlir_libs GLOBAL PROPERTY MLIR_ALL_LIBS)
foreach(lib IN LISTS tessera_mlir_libs)
  if(TARGET ${lib})
    get_target_property(iface ${lib} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(FIND iface LLVM at)
      if(NOT at EQUAL -1)
        list(REMOVE_ITEM iface LLVM)
        list(APPEND iface ${tessera_static_llvm})
      endif()
      set_target_properties(${lib} PROPERTIES INTERFACE_LINK_LIBRARIES "${iface}")
    endif()
  endif()
endforeach()
set_target_properties(LLVMSupport PROPERTIES INTERFACE_LINK_LIBRARIES
  "rt;dl;m;pthread;/usr/lib/x86_64-linux-gnu/libzstd.a;/usr/lib/x86_64-linux-gnu/libz.a;LLVMDemangle")
add_compile_options(-ffunction-sections -fdata-sections)
add_link_options(-static-libstdc++ -static-libgcc -Wl,--gc-sections)
