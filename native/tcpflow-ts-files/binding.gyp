{
  "targets": [
    {
      "target_name": "files",
      "sources": [ "files.c" ]
    }
  ]
}
