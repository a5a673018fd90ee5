package io.pagemark.checkpoint;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Reads a published chain file by file, in order, checking every byte on the way: each file's size
 * against the manifest, its header (checksum, identity, link to its parent), every page record's
 * checksum, the trailer and the whole-file checksum. A page reaches the caller only after its record
 * checked out; anything wrong throws {@link CheckpointCorruptException} with the file and the offset.
 *
 * <p>Every file is opened once, up front (never through a link), and read with positional reads, so
 * a second {@link #read} reads the very same files even if the directory changes in between (a
 * compaction deleting them, a file renamed over one): a first pass can verify what a second applies.
 */
final class ChainReader implements AutoCloseable {
    private static final ValueLayout.OfLong INDEX = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt CRC = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Receives each checked page record. {@code data} is valid only during the call. */
    @FunctionalInterface
    interface PageSink {
        void accept(long page, MemorySegment data, int fileIndex, long recordOffset) throws IOException;
    }

    private final Manifest manifest;
    private final Path[] files;
    private final FileChannel[] channels;
    private final long arenaPages;
    private final int pageSize;
    private final long recordBytes;
    private final CRC32C recordCrc = new CRC32C();

    private ChainReader(Manifest manifest) {
        this.manifest = manifest;
        this.pageSize = manifest.pageSize();
        this.arenaPages = manifest.arenaSize() / pageSize;
        this.recordBytes = Format.recordBytes(pageSize);
        this.files = new Path[manifest.entries().size()];
        this.channels = new FileChannel[files.length];
    }

    /**
     * Opens every file {@code manifest} lists and checks its size against the manifest.
     *
     * @throws CheckpointCorruptException if one is missing, a link, or of another size
     */
    static ChainReader open(ChainDirectory dir, Manifest manifest) throws IOException {
        ChainReader reader = new ChainReader(manifest);
        try {
            for (int i = 0; i < reader.files.length; i++) reader.openFile(dir, i);
            return reader;
        } catch (IOException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    /** Checks every file {@code manifest} lists, base first, handing each page record to {@code sink}. */
    static void read(ChainDirectory dir, Manifest manifest, PageSink sink) throws IOException {
        try (ChainReader reader = open(dir, manifest)) {
            reader.read(sink);
        }
    }

    /** Checks every file, base first, handing each page record to {@code sink}; may be called again. */
    void read(PageSink sink) throws IOException {
        try (Staging staging = new Staging(pageSize)) {
            for (int i = 0; i < files.length; i++) readFile(i, staging, sink);
        }
    }

    @Override
    public void close() throws IOException {
        IOException failed = null;
        for (FileChannel channel : channels) {
            if (channel == null) continue;
            try {
                channel.close();
            } catch (IOException e) {
                failed = e;
            }
        }
        if (failed != null) throw failed;
    }

    private void openFile(ChainDirectory dir, int index) throws IOException {
        Manifest.Entry entry = manifest.entries().get(index);
        String name = ChainDirectory.nameOf(entry.sequence(), entry.kind());
        Path file = dir.file(name);
        files[index] = file;
        try {
            channels[index] = dir.openForReading(name);
        } catch (NoSuchFileException missing) {
            throw new CheckpointCorruptException(file, 0, "missing: the manifest lists it as checkpoint "
                    + entry.sequence() + " (" + entry.bytes() + " bytes)");
        }
        long size = channels[index].size();
        if (size < entry.bytes()) {
            throw new CheckpointCorruptException(file, size, "truncated: " + size + " bytes, the manifest says " + entry.bytes());
        }
        if (size > entry.bytes()) {
            throw new CheckpointCorruptException(file, entry.bytes(), size + " bytes, the manifest says " + entry.bytes()
                    + ": bytes were appended");
        }
    }

    private void readFile(int index, Staging staging, PageSink sink) throws IOException {
        Manifest.Entry entry = manifest.entries().get(index);
        Path file = files[index];
        FileChannel channel = channels[index];
        ByteBuffer headerBytes = Format.littleEndian(Format.HEADER_BYTES);
        readFully(channel, headerBytes, 0, file);
        Format.Header header = Format.Header.decode(headerBytes, file);
        checkIdentity(header, index, file);
        CRC32C fileCrc = new CRC32C();
        fileCrc.update(headerBytes.rewind());

        long recordArea = entry.bytes() - Format.HEADER_BYTES - Format.TRAILER_BYTES;
        if (recordArea < 0 || recordArea % recordBytes != 0) {
            throw new CheckpointCorruptException(file, Format.HEADER_BYTES, "a size of " + entry.bytes()
                    + " bytes is not a header, whole " + recordBytes + "-byte page records and a trailer");
        }
        long records = recordArea / recordBytes;
        long position = Format.HEADER_BYTES;
        MemorySegment buffer = staging.buffer();
        ByteBuffer bufferBytes = buffer.asByteBuffer();
        for (long done = 0; done < records; ) {
            int batch = (int) Math.min(records - done, Staging.RECORDS_PER_CHUNK);
            int chunkBytes = (int) (batch * recordBytes);
            readFully(channel, bufferBytes.slice(0, chunkBytes), position, file);
            for (int k = 0; k < batch; k++) {
                checkRecord(buffer, bufferBytes, (int) (k * recordBytes), position + k * recordBytes, file, index, sink);
            }
            fileCrc.update(bufferBytes.slice(0, chunkBytes));
            position += chunkBytes;
            done += batch;
        }
        ByteBuffer trailer = Format.littleEndian(Format.TRAILER_BYTES);
        readFully(channel, trailer, position, file);
        int checksum = Format.checkTrailer(trailer, fileCrc, records, file, position);
        if (checksum != entry.fileCrc()) {
            throw new CheckpointCorruptException(file, position, "the file checksum differs from the one the manifest recorded"
                    + " (a different file under this name)");
        }
    }

    /** The header must be the one the manifest lists at this place, and a delta must name the file before it as its parent. */
    private void checkIdentity(Format.Header header, int index, Path file) throws CheckpointCorruptException {
        Manifest.Entry entry = manifest.entries().get(index);
        if (header.sequence() != entry.sequence() || header.kind() != entry.kind() || header.stateId() != entry.stateId()) {
            throw new CheckpointCorruptException(file, 0, "holds checkpoint " + header.sequence() + " (" + header.kind()
                    + ", state " + Long.toHexString(header.stateId()) + ") but the manifest lists checkpoint " + entry.sequence()
                    + " (" + entry.kind() + ", state " + Long.toHexString(entry.stateId()) + ") here: files were renamed or swapped");
        }
        if (header.arenaSize() != manifest.arenaSize() || header.pageSize() != manifest.pageSize()) {
            throw new CheckpointCorruptException(file, 0, "is a checkpoint of a " + header.arenaSize() + "-byte arena of "
                    + header.pageSize() + "-byte pages, the chain's arena is " + manifest.arenaSize() + " bytes of " + manifest.pageSize());
        }
        if (index > 0) {
            Manifest.Entry parent = manifest.entries().get(index - 1);
            if (header.parentSequence() != parent.sequence() || header.parentStateId() != parent.stateId()) {
                throw new CheckpointCorruptException(file, 0, "is a delta on checkpoint " + header.parentSequence()
                        + " but follows checkpoint " + parent.sequence() + " in the chain: a checkpoint is missing or out of order");
            }
        }
    }

    private void checkRecord(MemorySegment buffer, ByteBuffer bufferBytes, int at, long recordOffset, Path file,
                             int fileIndex, PageSink sink) throws IOException {
        long page = buffer.get(INDEX, at);
        recordCrc.reset();
        recordCrc.update(bufferBytes.slice(at, Long.BYTES));
        recordCrc.update(bufferBytes.slice(at + Format.RECORD_PREFIX_BYTES, pageSize));
        if (buffer.get(CRC, at + Long.BYTES) != (int) recordCrc.getValue()) {
            throw new CheckpointCorruptException(file, recordOffset, "page record checksum mismatch (record bytes "
                    + recordOffset + "-" + (recordOffset + recordBytes - 1) + " damaged)");
        }
        if (page < 0 || page >= arenaPages) {
            throw new CheckpointCorruptException(file, recordOffset, "page index " + page + " is outside the arena's " + arenaPages + " pages");
        }
        sink.accept(page, buffer.asSlice(at + Format.RECORD_PREFIX_BYTES, pageSize), fileIndex, recordOffset);
    }

    private static void readFully(FileChannel channel, ByteBuffer target, long position, Path file) throws IOException {
        long start = position;
        while (target.hasRemaining()) {
            int n = channel.read(target, position);
            if (n < 0) {
                throw new CheckpointCorruptException(file, position, "truncated while being read (expected "
                        + (position - start + target.remaining()) + " bytes from offset " + start + ")");
            }
            position += n;
        }
    }
}
