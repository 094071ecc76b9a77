// Command ferretdb-embedded serves the MongoDB wire protocol on FerretDB's SQLite backend.
// The project's tests use it as their MongoDB-wire server (see scripts/services.py).
package main

import (
	"context"
	"flag"
	"log"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:37017", "TCP address to listen on")
	data := flag.String("data", "data/", "SQLite directory (must end with /)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + *data,
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", *listen)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
