package io.pagemark.replication;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import org.agrona.DirectBuffer;
import org.junit.jupiter.api.Test;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.ClassEntry;
import java.lang.classfile.constantpool.FieldRefEntry;
import java.lang.classfile.constantpool.MemberRefEntry;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.invoke.MethodType;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.JarFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Aeron 1.51.0 was compiled against Agrona 2.4.x; the build runs it on its one Agrona (the root
 * pom's agrona.version). This checks the link: every Agrona class, method and field that a class of
 * aeron-client or aeron-driver refers to exists in the Agrona on the class path, with the same
 * descriptor. (The other tests run the Aeron paths replication uses on it.)
 */
class AeronOnAgronaTest {

    @Test
    void everyAgronaMemberAeronUsesExistsInTheBuildsAgrona() throws Exception {
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (Class<?> anchor : List.of(Aeron.class, MediaDriver.class)) {
            Path jar = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
            try (JarFile file = new JarFile(jar.toFile())) {
                for (var entry : file.stream().filter(e -> e.getName().endsWith(".class") && !e.getName().contains("module-info")).toList()) {
                    ClassModel model = ClassFile.of().parse(file.getInputStream(entry).readAllBytes());
                    for (PoolEntry pe : model.constantPool()) {
                        String problem = null;
                        if (pe instanceof MemberRefEntry ref && ref.owner().asInternalName().startsWith("org/agrona/")) {
                            checked++;
                            problem = resolve(ref);
                        } else if (pe instanceof ClassEntry c && c.asInternalName().startsWith("org/agrona/")) {
                            checked++;
                            problem = load(c.asInternalName()) == null ? "class " + c.asInternalName() : null;
                        }
                        if (problem != null) missing.add(model.thisClass().asInternalName() + " -> " + problem);
                    }
                }
            }
        }
        assertTrue(checked > 1000, "only " + checked + " Agrona references found: is this the Aeron jar?");
        assertEquals(List.of(), new ArrayList<>(new TreeSet<>(missing)), "Aeron refers to Agrona members this Agrona ("
                + DirectBuffer.class.getPackage().getImplementationVersion() + ") lacks");
        System.out.println("AeronOnAgronaTest: " + checked + " Agrona references of Aeron resolve on Agrona "
                + DirectBuffer.class.getPackage().getImplementationVersion());
    }

    @Test
    void aMemberAgronaLacksIsReported() {
        var pool = java.lang.classfile.constantpool.ConstantPoolBuilder.of();
        var owner = java.lang.constant.ClassDesc.of("org.agrona.DirectBuffer");
        assertEquals("org/agrona/DirectBuffer.getLong(I)Ljava/lang/String;", resolve(pool.methodRefEntry(owner, "getLong",
                java.lang.constant.MethodTypeDesc.ofDescriptor("(I)Ljava/lang/String;"))));
        assertEquals(null, resolve(pool.interfaceMethodRefEntry(owner, "getLong", java.lang.constant.MethodTypeDesc.ofDescriptor("(I)J"))));
    }

    private static String resolve(MemberRefEntry ref) {
        Class<?> owner = load(ref.owner().asInternalName());
        String name = ref.nameAndType().name().stringValue();
        String descriptor = ref.nameAndType().type().stringValue();
        String what = ref.owner().asInternalName() + "." + name + descriptor;
        if (owner == null) return "class of " + what;
        Deque<Class<?>> todo = new ArrayDeque<>(List.of(owner));
        while (!todo.isEmpty()) {
            Class<?> c = todo.pop();
            if (ref instanceof FieldRefEntry) {
                for (Field f : c.getDeclaredFields()) {
                    if (f.getName().equals(name) && f.getType().descriptorString().equals(descriptor)) return null;
                }
            } else {
                List<Executable> members = new ArrayList<>(List.of(c.getDeclaredMethods()));
                if (name.equals("<init>")) members = List.of(c.getDeclaredConstructors());
                for (Executable m : members) {
                    Class<?> returns = m instanceof Method method ? method.getReturnType() : void.class;
                    if ((name.equals("<init>") || m.getName().equals(name))
                            && MethodType.methodType(returns, m.getParameterTypes()).toMethodDescriptorString().equals(descriptor)) {
                        return null;
                    }
                }
                if (name.equals("<init>")) break;
            }
            if (c.getSuperclass() != null) todo.add(c.getSuperclass());
            todo.addAll(List.of(c.getInterfaces()));
        }
        return what;
    }

    private static Class<?> load(String internalName) {
        if (internalName.startsWith("[")) return Object[].class;
        try {
            return Class.forName(internalName.replace('/', '.'), false, AeronOnAgronaTest.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }
}
