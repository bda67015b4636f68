// Absolute path of the folder that holds saga/v1/*.proto, for @grpc/proto-loader
// and server reflection.
module.exports = { protoDir: __dirname };
