import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.List;
import org.h2.mvstore.MVStore;

/**
 * The MongoDB-wire server the tests talk to: mongo-java-server on its H2 (file) backend.
 *
 * <p>It keeps what the OTP store relies on from MongoDB: a conditional update of one document is
 * atomic (each collection serialises its writes), and a filter with an equality on _id is answered
 * from the _id index. Three changes to the library's defaults make that hold for this service:
 *
 * <ul>
 *   <li>It reports MongoDB 6.0 (wire version 17): the default, wire version 8, is refused by
 *       current PyMongo.
 *   <li>A filter such as {_id: k, version: v} (compare-and-set) is looked up by _id and then
 *       matched. The library uses an index only when the filter names exactly the index's keys,
 *       so such an update scanned the whole collection.
 *   <li>Every command that changed data is committed to the file before it is answered. The H2
 *       store otherwise commits once a second, and a kill -9 lost up to that second of
 *       acknowledged writes.
 * </ul>
 *
 * <p>Usage: java -cp 'lib/*:classes' OtpMongoWireServer HOST PORT DATA_FILE
 */
public final class OtpMongoWireServer {

    // The names H2Database gives its maps, so a data file stays readable by the plain backend.
    private static final String DATA_MAPS = "databases.";
    private static final String META_MAPS = "meta.";

    // H2's default page cache is 16 MB. Past that, each read deserialises pages from the file,
    // which raised the p99 of a look-up by _id at 50,000 ledgers to 4-7 times that at 1,000.
    // MongoDB keeps its working set in memory too.
    private static final int CACHE_MB = 256;

    /** Set before the backend opens: H2Database opens its collections from its constructor. */
    private static MVStore store;

    private enum Version implements MongoVersion {
        MONGO_6_0;

        @Override
        public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 17;
        }
    }

    private static final class IdLookupCollection extends H2Collection {
        IdLookupCollection(MongoDatabase database, String name, CollectionOptions options,
                           CursorRegistry cursors) {
            super(database, name, options,
                store.openMap(DATA_MAPS + database.getDatabaseName() + "." + name),
                store.openMap(META_MAPS + database.getDatabaseName() + "." + name), cursors);
        }

        /**
         * A copy of findAndModify's answer, taken under the collection's lock. The library answers
         * with the stored document itself, which the next update changes in place before the
         * reply is encoded: 40 concurrent $inc on one document returned the same "after" count
         * to several callers (4 twice, 8 three times, 12 four times).
         */
        @Override
        public synchronized Document findAndModify(Document query) {
            return super.findAndModify(query).cloneDeeply();
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit,
                                             int batchSize, Document fields) {
            Object id = query.get(getIdField());
            if (query.size() > 1 && id != null && !(id instanceof Document)) {
                Document byId = new Document(getIdField(), id);
                for (Index<Object> index : getIndexes()) {
                    if (index.canHandle(byId)) {
                        // The candidates by _id, then the whole filter on each of them.
                        return matchDocuments(query, index.getPositions(byId), orderBy, skip, limit,
                            batchSize, fields);
                    }
                }
            }
            return super.queryDocuments(query, orderBy, skip, limit, batchSize, fields);
        }
    }

    private static final class IdLookupDatabase extends H2Database {
        IdLookupDatabase(String name, CursorRegistry cursors) {
            super(name, store, cursors);
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String name, CollectionOptions options) {
            return new IdLookupCollection(this, name, options, cursorRegistry);
        }
    }

    /** Commits after each command that left unsaved changes, before its reply goes out. */
    private static final class CommittingBackend extends H2Backend {
        CommittingBackend() {
            super(store);
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String name) {
            return new IdLookupDatabase(name, getCursorRegistry());
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            Document response = super.handleCommand(channel, database, command, query);
            if (store.hasUnsavedChanges()) {
                store.commit();
            }
            return response;
        }
    }

    private OtpMongoWireServer() {}

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: OtpMongoWireServer HOST PORT DATA_FILE");
            System.exit(2);
        }
        store = new MVStore.Builder().fileName(args[2]).cacheSize(CACHE_MB).open();
        H2Backend backend = new CommittingBackend();
        backend.version(Version.MONGO_6_0);
        MongoServer server = new MongoServer(backend);
        server.bind(args[0], Integer.parseInt(args[1]));
        System.out.println("listening on " + args[0] + ":" + args[1] + ", data in " + args[2]);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "shutdown"));
    }
}
