"""MongoDB adapters over ``pymongo.AsyncMongoClient``; single-document atomic operations only."""
