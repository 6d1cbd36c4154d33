{
  "targets": [
    {
      "target_name": "chroot",
      "sources": [ "chroot.c" ]
    }
  ]
}
