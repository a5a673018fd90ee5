package io.pagemark.agent;

/** A method named in an option as {@code <class>#<method>}. */
record MethodRef(String className, String methodName) {
    static MethodRef parse(Option option, String value) {
        int hash = value.indexOf('#');
        if (hash <= 0 || hash == value.length() - 1 || value.indexOf('#', hash + 1) >= 0) {
            throw BadOptionException.invalid(option, value, "not of the form <class>#<method>");
        }
        MethodRef ref = new MethodRef(value.substring(0, hash), value.substring(hash + 1));
        if (!isQualifiedName(ref.className)) throw BadOptionException.invalid(option, value, "'" + ref.className + "' is not a class name");
        if (!isIdentifier(ref.methodName)) throw BadOptionException.invalid(option, value, "'" + ref.methodName + "' is not a method name");
        return ref;
    }

    static boolean isQualifiedName(String name) {
        for (String part : name.split("\\.", -1)) if (!isIdentifier(part)) return false;
        return true;
    }

    static boolean isIdentifier(String s) {
        if (s.isEmpty() || !Character.isJavaIdentifierStart(s.charAt(0))) return false;
        for (int i = 1; i < s.length(); i++) if (!Character.isJavaIdentifierPart(s.charAt(i))) return false;
        return true;
    }

    /** The package of the class ("" for the default package). */
    String packageName() {
        int dot = className.lastIndexOf('.');
        return dot < 0 ? "" : className.substring(0, dot);
    }

    @Override
    public String toString() {
        return className + "#" + methodName;
    }
}
