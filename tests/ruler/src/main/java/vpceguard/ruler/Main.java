package vpceguard.ruler;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import software.amazon.event.ruler.Machine;

/**
 * Answers, for the vpce-guard tests, which event patterns event-ruler matches
 * to an event. It reads one request a line from standard input and writes one
 * answer a line to standard output:
 *
 * <pre>
 * rule NAME PATTERN   adds the pattern (JSON on one line) as rule NAME; answers "ok"
 * event EVENT         answers "matched" and the names of the rules that match EVENT, sorted
 * </pre>
 *
 * A request that fails is answered "error" and why, on one line.
 *
 * The rules are compiled once into a {@link Machine}, as EventBridge keeps a
 * bus's rules, and events are matched with {@code rulesForJSONEvent}, which
 * the library's README recommends: unlike the deprecated
 * {@code rulesForEvent} it is array-consistent, and {@code Ruler.matchesRule}
 * is only a wrapper around it. {@code addRule} with a JSON pattern compiles
 * $or, anything-but, exists and suffix, and refuses what it does not know.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws IOException {
        Machine machine = Machine.builder().build();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (!line.isBlank()) {
                out.println(answer(machine, line));
            }
        }
    }

    static String answer(Machine machine, String request) {
        String[] words = request.split(" ", 2);
        try {
            switch (words[0]) {
                case "rule":
                    String[] rule = words.length == 2 ? words[1].split(" ", 2) : new String[0];
                    if (rule.length != 2) {
                        return "error want: rule NAME PATTERN";
                    }
                    machine.addRule(rule[0], rule[1]);
                    return "ok";
                case "event":
                    if (words.length != 2) {
                        return "error want: event EVENT";
                    }
                    List<String> names = machine.rulesForJSONEvent(words[1]);
                    names.sort(null);
                    return names.isEmpty() ? "matched" : "matched " + String.join(" ", names);
                default:
                    return "error unknown request " + words[0] + ": want rule or event";
            }
        } catch (Exception e) {
            return "error " + String.valueOf(e).replaceAll("\\s+", " ");
        }
    }
}
